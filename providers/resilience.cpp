// Error classification, retry decisions and the circuit breaker (exai-tools-reference.md §2.6).
#include "providers/resilience.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace exai::providers {

namespace {

bool contains_nocase(std::string_view hay, std::string_view needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         }) != hay.end();
}

constexpr std::size_t max_body_kept = 4096;

}  // namespace

std::optional<ms> parse_retry_after(std::string_view v) noexcept {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (v.empty()) return std::nullopt;
  double secs = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), secs);
  if (ec != std::errc() || end != v.data() + v.size() || secs < 0 || secs > 86'400) {
    return std::nullopt;
  }
  return ms(static_cast<std::int64_t>(secs * 1000));
}

provider_error classify_http(unsigned status, std::string_view body,
                             std::optional<std::string_view> retry_after) {
  provider_error e;
  e.http_status = status;
  e.upstream_body = std::string(body.substr(0, max_body_kept));
  if (retry_after) e.retry_after = parse_retry_after(*retry_after);
  const std::string st = std::to_string(status);
  if (status == 401 || status == 403) {
    e.code = provider_errc::auth;
    e.message = "the provider refused the API key (HTTP " + st + ")";
  } else if (status == 429) {
    // An exhausted quota is not cured by waiting (§2.6: insufficient_quota is not retried).
    if (contains_nocase(body, "insufficient_quota") || contains_nocase(body, "quota exceeded") ||
        contains_nocase(body, "insufficient balance")) {
      e.code = provider_errc::auth;
      e.message = "the provider account has no quota left (HTTP 429)";
    } else {
      e.code = provider_errc::rate_limited;
      e.message = "the provider is rate limiting (HTTP 429)";
    }
  } else if (status == 500 || status == 502 || status == 503 || status == 504 || status == 529) {
    e.code = provider_errc::server;
    e.message = "the provider failed (HTTP " + st + ")";
  } else if (status >= 400 && status < 500) {
    e.code = provider_errc::bad_request;
    e.message = "the provider rejected the request (HTTP " + st + ")";
  } else {
    e.code = provider_errc::protocol;
    e.message = "unexpected HTTP status " + st + " from the provider";
  }
  return e;
}

bool is_retryable(const provider_error& e) noexcept {
  switch (e.code) {
    case provider_errc::rate_limited:
    case provider_errc::server:
    case provider_errc::network:
      return true;
    case provider_errc::timeout:
      // Only a connect timeout (no HTTP status, nothing sent to the model) is retried: after a
      // first-byte or idle timeout the model's budget is spent.
      return e.http_status == 0 && e.message.find("connect") != std::string::npos;
    default:
      return false;
  }
}

retry_decision decide_retry(const retry_options& o, unsigned attempt, const provider_error& e,
                            double u, ms time_left) {
  if (e.partial || !is_retryable(e) || attempt >= o.max_attempts) return {};
  ms delay = o.backoff.delay(attempt == 0 ? 0 : attempt - 1, u);
  if (e.retry_after) {
    if (*e.retry_after > o.max_retry_after) return {};
    delay = *e.retry_after;
  }
  if (delay >= time_left) return {};
  return {true, delay};
}

bool circuit_breaker::counts_as_failure(const provider_error& e) noexcept {
  switch (e.code) {
    case provider_errc::server:
    case provider_errc::network:
    case provider_errc::timeout:
    case provider_errc::rate_limited:
    case provider_errc::protocol:
      return true;
    default:
      return false;
  }
}

circuit_breaker::state circuit_breaker::current(time_point now) const {
  if (state_ == state::open && now - opened_at_ >= opts_.open_for) return state::half_open;
  return state_;
}

bool circuit_breaker::allow(time_point now) {
  switch (current(now)) {
    case state::closed: return true;
    case state::open: return false;
    case state::half_open:
      if (trial_in_flight_) return false;
      state_ = state::half_open;
      trial_in_flight_ = true;
      return true;
  }
  return false;
}

void circuit_breaker::on_result(const provider_error* failure, time_point now) {
  const bool was_trial = trial_in_flight_;
  trial_in_flight_ = false;
  if (failure && failure->code == provider_errc::cancelled) return;  // says nothing either way
  if (!failure || !counts_as_failure(*failure)) {
    // The provider answered (a 4xx is its answer too): it is up.
    failures_ = 0;
    state_ = state::closed;
    return;
  }
  ++failures_;
  if (was_trial || failures_ >= opts_.failure_threshold) {
    state_ = state::open;
    opened_at_ = now;
  }
}

}  // namespace exai::providers
