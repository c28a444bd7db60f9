// Retry and reconnect delays (issues 5, 13; house-style 12): capped exponential backoff with
// jitter, as a pure function of the failure count and a random draw, so it is unit-tested without
// clocks. Shared by the daemon pool's reconnects and the model providers' retries.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace exai::net {

class backoff_policy {
 public:
  backoff_policy(std::chrono::milliseconds initial, std::chrono::milliseconds max)
      : initial_(std::max(initial, std::chrono::milliseconds(1))),
        max_(std::max(max, initial_)) {}

  // The delay before the next attempt after `failures` consecutive failures (0 = first retry).
  // u is a uniform draw in [0, 1). "Equal jitter": half of the capped exponential step is fixed,
  // half is random, so many gateways restarting together do not reconnect in lockstep, and a
  // delay is never zero (a daemon that refuses at once is not hammered).
  std::chrono::milliseconds delay(unsigned failures, double u) const {
    u = std::clamp(u, 0.0, 1.0);
    const std::int64_t cap = max_.count();
    std::int64_t step = initial_.count();
    for (unsigned i = 0; i < failures && step < cap; ++i) step *= 2;
    step = std::min(step, cap);
    const double half = static_cast<double>(step) / 2.0;
    auto ms = static_cast<std::int64_t>(half + half * u);
    return std::chrono::milliseconds(std::clamp<std::int64_t>(ms, 1, cap));
  }

  std::chrono::milliseconds initial() const { return initial_; }
  std::chrono::milliseconds max() const { return max_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
};

}  // namespace exai::net
