// Gives freed heap back to the system after a burst of in-flight requests (issue 7, memory):
// glibc keeps what it freed, so after cancel-10k the gateway stayed at ~97 MB RSS with nothing
// in flight; malloc_trim(0) then returned ~57 MB of it (allocator.hpp: mi_collect under
// mimalloc). Header-only: one call site.
#pragma once

#include "gateway/allocator.hpp"

#include <chrono>
#include <cstdint>

namespace exai::gateway {

// Called with the gateway's in-flight count each time a request finishes. Trims when the count
// is back at zero after having reached `burst` since the last trim, at most once per `interval`
// (a steady trickle of calls never trims; a trim walks the whole heap). Per thread: each
// io thread sees its own bursts.
inline bool trim_after_burst(std::int64_t inflight_now, std::int64_t burst = 512,
                             std::chrono::milliseconds interval = std::chrono::seconds(1)) {
  thread_local std::int64_t peak = 0;
  thread_local std::chrono::steady_clock::time_point last{};
  if (inflight_now + 1 > peak) peak = inflight_now + 1;
  if (inflight_now != 0 || peak < burst) return false;
  const auto now = std::chrono::steady_clock::now();
  if (now - last < interval) return false;
  last = now;
  peak = 0;
  return release_free_memory();
}

}  // namespace exai::gateway
