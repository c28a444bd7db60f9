// Retries, the circuit breaker and HTTP error classification for the providers (issue 13,
// exai-tools-reference.md §2.6), as pure decisions: no clock, no randomness, no I/O, so they
// are unit-tested with literal inputs (house-style 12).
#pragma once

#include "net/backoff.hpp"
#include "providers/provider.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace exai::providers {

using ms = std::chrono::milliseconds;

// An HTTP error status and body as a provider_error. Retryable per §2.6: 429 (but not an
// exhausted quota), 500, 502, 503, 504 and 529 (Anthropic "overloaded"). `retry_after` is the
// Retry-After header's value, if any (delta-seconds; an HTTP date is ignored).
provider_error classify_http(unsigned status, std::string_view body,
                             std::optional<std::string_view> retry_after);

// Whether a failed attempt may be tried again at all (ignoring counts and time).
bool is_retryable(const provider_error& e) noexcept;

// "Retry-After: 3" -> 3000 ms. Nullopt for an absent or unreadable value (dates included).
std::optional<ms> parse_retry_after(std::string_view value) noexcept;

struct retry_options {
  unsigned max_attempts = 4;               // reference: 4 attempts (1 + 3 retries)
  net::backoff_policy backoff{ms(1000), ms(8000)};  // ~ the reference's 1/3/5/8 s
  ms max_retry_after{60'000};              // a longer Retry-After is not waited for
};

struct retry_decision {
  bool retry = false;
  ms delay{0};
};

// After attempt number `attempt` (1-based) failed with e: retry, and after how long? Never when
// e.partial (something was already streamed to the caller), when e is not retryable, when the
// attempts are used up, or when the wait would not fit in time_left. Retry-After, when given,
// replaces the backoff delay (it is the provider's own word). u is a uniform draw in [0, 1).
retry_decision decide_retry(const retry_options& o, unsigned attempt, const provider_error& e,
                            double u, ms time_left);

// A per-provider circuit breaker: after `failure_threshold` consecutive failures it opens and
// refuses calls for `open_for`; then one trial call is let through (half-open): success closes
// it, failure opens it again. Only failures that say the provider is unwell count (server,
// network, timeout, rate_limited); a bad request or a cancel does not.
class circuit_breaker {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  enum class state { closed, open, half_open };

  struct options {
    unsigned failure_threshold = 5;
    ms open_for{30'000};
  };

  circuit_breaker() = default;
  explicit circuit_breaker(options o) : opts_(o) {}

  // May a call start now? In half-open state only one trial at a time is allowed.
  bool allow(time_point now);
  // The outcome of a call that allow() let through.
  void on_result(const provider_error* failure, time_point now);

  state current(time_point now) const;
  unsigned consecutive_failures() const noexcept { return failures_; }
  static bool counts_as_failure(const provider_error& e) noexcept;

 private:
  options opts_;
  state state_ = state::closed;
  unsigned failures_ = 0;
  time_point opened_at_{};
  bool trial_in_flight_ = false;
};

}  // namespace exai::providers
