// Gives freed heap back to the system after a burst of in-flight requests: after
// cancel-10k the gateway held its peak RSS with nothing in flight. Header-only: one call site.
#pragma once

#include "gateway/allocator.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>

namespace exai::gateway {

// Decides when a burst is over: told the in-flight count each time a request finishes, it says
// "trim" when the count is back at zero after having reached `burst` since the last trim, at most
// once per `interval` (a steady trickle of calls never trims: a trim walks the whole heap).
class burst_tracker {
 public:
  using clock = std::chrono::steady_clock;
  explicit burst_tracker(std::int64_t burst = 512,
                         clock::duration interval = std::chrono::seconds(1))
      : burst_(burst), interval_(interval) {}

  bool on_finished(std::int64_t inflight_now, clock::time_point now = clock::now()) {
    if (inflight_now + 1 > peak_) peak_ = inflight_now + 1;
    if (inflight_now != 0 || peak_ < burst_) return false;
    if (trimmed_ && now - last_ < interval_) return false;
    trimmed_ = true;
    last_ = now;
    peak_ = 0;
    return true;
  }

 private:
  std::int64_t burst_;
  clock::duration interval_;
  std::int64_t peak_ = 0;
  bool trimmed_ = false;
  clock::time_point last_{};
};

// The release runs a moment later, twice, not at once: when the last request of a burst finishes,
// its coroutine frames and buffers (and those of the calls before it) are still being freed, and
// mimalloc decommits freed pages only once they have been free for a while (its decommit delays);
// a collect gives back what is due by then. Measured on cancel-10k (bench/README.md): with the
// collect at once the gateway still held 41-69 MB a second later; with these two shots it was at
// 12-14 MB once the clients had gone. With mimalloc 2.0 the pages a collect frees are decommitted
// only when a later allocation visits their segment, so a gateway that goes completely quiet
// after a burst gives them back on its next request, not before (bench/README.md, cancel-10k).
inline void release_free_memory_soon(const boost::asio::any_io_executor& ex,
                                     std::chrono::milliseconds first = std::chrono::milliseconds(250),
                                     std::chrono::milliseconds second = std::chrono::milliseconds(1500)) {
  auto timer = std::make_shared<boost::asio::steady_timer>(ex, first);
  timer->async_wait([timer, rest = second - first](const boost::system::error_code& ec) {
    if (ec) return;
    release_free_memory();
    timer->expires_after(rest);
    timer->async_wait([timer](const boost::system::error_code& ec2) {
      if (!ec2) release_free_memory();
    });
  });
}

}  // namespace exai::gateway
