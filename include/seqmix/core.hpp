#pragma once
// Module header: the core layer (tensors, errors, options, threading, workspace, concept).
#include "seqmix/config.hpp"
#include "seqmix/version.hpp"
#include "seqmix/core/error.hpp"
#include "seqmix/core/tensor.hpp"
#include "seqmix/core/options.hpp"
#include "seqmix/core/check.hpp"
#include "seqmix/core/threading.hpp"
#include "seqmix/core/workspace.hpp"
#include "seqmix/core/concepts.hpp"
