// The heap allocator the gateway runs on. Release builds link mimalloc when it is
// installed (scripts/setup installs it): malloc/free were ~20 % of the gateway's instructions per
// call under glibc's allocator, and mimalloc measured ~10-15 % less gateway CPU per call at 32x8
// (bench/README.md). Sanitizer and fuzz builds keep the system allocator (ASan replaces it).
#pragma once

#include <string_view>

namespace exai::gateway {

// "mimalloc 2.0.9" or "glibc malloc": logged at startup.
std::string_view allocator_name() noexcept;

// Called first thing in main: the allocator's own settings (with mimalloc, how long freed pages
// stay committed for reuse: allocator.cpp).
void configure_allocator() noexcept;

// Gives freed heap back to the system (mi_collect(true) or glibc's malloc_trim(0)). Returns
// false when the allocator has no such call.
bool release_free_memory() noexcept;

}  // namespace exai::gateway
