#!/usr/bin/env bash
# Installs the Debian 12 packages seqmix builds, tests and benchmarks with (run as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  cmake make g++ libeigen3-dev libxsimd-dev xtl-dev catch2 libbenchmark-dev nlohmann-json3-dev \
  libomp-dev python3-numpy gnuplot-nox clang libclang-rt-14-dev libopenmpi-dev openmpi-bin > /dev/null
echo "seqmix: dependencies installed"
