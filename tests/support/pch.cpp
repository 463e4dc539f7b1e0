// Translation unit that owns the tests' precompiled header (see tests/CMakeLists.txt).
