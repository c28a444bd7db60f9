// See allocator.hpp. EXAI_HAVE_MIMALLOC is set by gateway/CMakeLists.txt when it links mimalloc.
#include "gateway/allocator.hpp"

#include <cstdlib>
#include <string>

#if EXAI_HAVE_MIMALLOC
#include <mimalloc.h>
#elif defined(__GLIBC__) && __has_include(<malloc.h>)
#include <malloc.h>
#define EXAI_HAVE_MALLOC_TRIM 1
#endif

namespace exai::gateway {

std::string_view allocator_name() noexcept {
#if EXAI_HAVE_MIMALLOC
  // mi_version() is major*100 + minor*10 + patch (209 for 2.0.9). Calling it also keeps the
  // library a real dependency of the program under --as-needed.
  static const std::string name = [] {
    const int v = mi_version();
    return "mimalloc " + std::to_string(v / 100) + "." + std::to_string(v / 10 % 10) + "." +
           std::to_string(v % 10);
  }();
  return name;
#elif defined(__GLIBC__)
  return "glibc malloc";
#else
  return "system malloc";
#endif
}

void configure_allocator() noexcept {
#if EXAI_HAVE_MIMALLOC
  // mimalloc returns a freed page range to the system 25 ms after its last use by default, so a
  // gateway forwarding one large result after another (8 MiB each) touched fresh pages for every
  // buffer: 2,600-3,500 page faults and 49-63 ms of CPU per result on a paravirtualised guest,
  // against 19-21 ms with the ranges kept for half a second (bench/README.md, "Large results"). MIMALLOC_DECOMMIT_DELAY
  // still wins when it is set. mi_option_set, not mi_option_set_default: mimalloc reads its
  // options when the process starts, before main.
  if (std::getenv("MIMALLOC_DECOMMIT_DELAY") == nullptr) mi_option_set(mi_option_decommit_delay, 500);
#endif
}

bool release_free_memory() noexcept {
#if EXAI_HAVE_MIMALLOC
  mi_collect(true);
  return true;
#elif defined(EXAI_HAVE_MALLOC_TRIM)
  ::malloc_trim(0);
  return true;
#else
  return false;
#endif
}

}  // namespace exai::gateway
