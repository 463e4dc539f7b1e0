#pragma once
// Reference of rwkv5: shares rwkv6's loop (reference/rwkv6.hpp) with a fixed decay.
#include "seqmix/reference/rwkv6.hpp"
