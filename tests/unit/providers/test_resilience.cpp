// Retry decisions, Retry-After, HTTP error classification and the circuit breaker
// (exai-tools-reference.md §2.6), as pure functions of their inputs.
#include "providers/resilience.hpp"

#include <boost/test/unit_test.hpp>

using namespace exai::providers;
using namespace std::chrono_literals;

namespace {

provider_error failure(provider_errc c) {
  provider_error e;
  e.code = c;
  return e;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(resilience)

BOOST_AUTO_TEST_CASE(classify_statuses) {
  auto e429 = classify_http(429, R"({"error":{"message":"slow down"}})", std::string_view("2"));
  BOOST_TEST((e429.code == provider_errc::rate_limited));
  BOOST_TEST(e429.retry_after.value_or(0ms).count() == 2000);
  BOOST_TEST(e429.http_status == 429u);
  BOOST_TEST(e429.upstream_body.find("slow down") != std::string::npos);
  BOOST_TEST(is_retryable(e429));

  auto quota = classify_http(429, R"({"error":{"code":"insufficient_quota"}})", std::nullopt);
  BOOST_TEST((quota.code == provider_errc::auth));
  BOOST_TEST(!is_retryable(quota));

  for (unsigned s : {500u, 502u, 503u, 504u, 529u}) {
    auto e = classify_http(s, "", std::nullopt);
    BOOST_TEST((e.code == provider_errc::server), s);
    BOOST_TEST(is_retryable(e));
  }
  BOOST_TEST((classify_http(401, "", std::nullopt).code == provider_errc::auth));
  BOOST_TEST((classify_http(403, "", std::nullopt).code == provider_errc::auth));
  BOOST_TEST((classify_http(400, "context too long", std::nullopt).code == provider_errc::bad_request));
  BOOST_TEST(!is_retryable(classify_http(400, "", std::nullopt)));
  BOOST_TEST(!is_retryable(classify_http(501, "", std::nullopt)));
  // The body is kept, bounded.
  BOOST_TEST(classify_http(500, std::string(100000, 'x'), std::nullopt).upstream_body.size() <= 4096u);
}

BOOST_AUTO_TEST_CASE(retry_after_values) {
  BOOST_TEST(parse_retry_after("0").value().count() == 0);
  BOOST_TEST(parse_retry_after(" 5 ").value().count() == 5000);
  BOOST_TEST(parse_retry_after("1.5").value().count() == 1500);
  BOOST_TEST(!parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"));
  BOOST_TEST(!parse_retry_after("-1"));
  BOOST_TEST(!parse_retry_after(""));
}

BOOST_AUTO_TEST_CASE(retry_decisions) {
  retry_options o;  // 4 attempts, backoff 1 s .. 8 s
  auto server = failure(provider_errc::server);
  auto d1 = decide_retry(o, 1, server, 0.0, 60s);
  BOOST_TEST(d1.retry);
  BOOST_TEST(d1.delay.count() == 500);  // equal jitter: half of 1 s fixed
  auto d3 = decide_retry(o, 3, server, 0.999, 60s);
  BOOST_TEST(d3.retry);
  BOOST_TEST(d3.delay.count() <= 4000);
  BOOST_TEST(d3.delay.count() >= 2000);
  BOOST_TEST(!decide_retry(o, 4, server, 0.5, 60s).retry);  // attempts used up

  // Never after something was streamed.
  auto partial = server;
  partial.partial = true;
  BOOST_TEST(!decide_retry(o, 1, partial, 0.5, 60s).retry);

  // Not retryable kinds.
  for (auto c : {provider_errc::auth, provider_errc::bad_request, provider_errc::cancelled,
                 provider_errc::protocol, provider_errc::tls, provider_errc::circuit_open}) {
    BOOST_TEST(!decide_retry(o, 1, failure(c), 0.5, 60s).retry);
  }
  // Timeouts: only a connect timeout is retried.
  auto connect = failure(provider_errc::timeout);
  connect.message = "connect to the provider timed out";
  BOOST_TEST(decide_retry(o, 1, connect, 0.5, 60s).retry);
  auto first_byte = failure(provider_errc::timeout);
  first_byte.message = "the provider did not answer in time";
  BOOST_TEST(!decide_retry(o, 1, first_byte, 0.5, 60s).retry);

  // Retry-After replaces the backoff, within limits and within the time left.
  auto limited = failure(provider_errc::rate_limited);
  limited.retry_after = 7s;
  auto d = decide_retry(o, 1, limited, 0.0, 60s);
  BOOST_TEST(d.retry);
  BOOST_TEST(d.delay.count() == 7000);
  BOOST_TEST(!decide_retry(o, 1, limited, 0.0, 5s).retry);  // would not fit
  limited.retry_after = 120s;
  BOOST_TEST(!decide_retry(o, 1, limited, 0.0, 600s).retry);  // over max_retry_after
  // A plain backoff that does not fit in the time left: no retry either.
  BOOST_TEST(!decide_retry(o, 1, server, 0.0, 100ms).retry);
}

BOOST_AUTO_TEST_CASE(breaker_opens_half_opens_and_closes) {
  circuit_breaker b({3, 10s});
  const auto t0 = circuit_breaker::time_point{} + 1000s;
  auto bad = failure(provider_errc::server);
  for (int i = 0; i < 3; ++i) {
    BOOST_TEST(b.allow(t0));
    b.on_result(&bad, t0);
  }
  BOOST_TEST((b.current(t0) == circuit_breaker::state::open));
  BOOST_TEST(!b.allow(t0 + 9s));
  // Half-open after open_for: one trial at a time.
  BOOST_TEST((b.current(t0 + 10s) == circuit_breaker::state::half_open));
  BOOST_TEST(b.allow(t0 + 10s));
  BOOST_TEST(!b.allow(t0 + 10s));
  // The trial fails: open again, from now.
  b.on_result(&bad, t0 + 11s);
  BOOST_TEST(!b.allow(t0 + 20s));
  BOOST_TEST(b.allow(t0 + 21s));
  b.on_result(nullptr, t0 + 21s);  // the trial succeeds
  BOOST_TEST((b.current(t0 + 21s) == circuit_breaker::state::closed));
  BOOST_TEST(b.consecutive_failures() == 0u);
}

BOOST_AUTO_TEST_CASE(breaker_ignores_what_says_nothing_about_health) {
  circuit_breaker b({2, 10s});
  const auto t0 = circuit_breaker::time_point{} + 1000s;
  auto bad_request = failure(provider_errc::bad_request);
  auto cancelled = failure(provider_errc::cancelled);
  auto server = failure(provider_errc::server);
  b.on_result(&server, t0);
  b.on_result(&cancelled, t0);  // no verdict
  BOOST_TEST(b.consecutive_failures() == 1u);
  b.on_result(&bad_request, t0);  // the provider answered: it is up
  BOOST_TEST(b.consecutive_failures() == 0u);
  b.on_result(&server, t0);
  b.on_result(&server, t0);
  BOOST_TEST(!b.allow(t0));
  // A cancelled trial frees the trial slot without a verdict.
  BOOST_TEST(b.allow(t0 + 10s));
  b.on_result(&cancelled, t0 + 10s);
  BOOST_TEST(b.allow(t0 + 10s));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(provider_errors_map_to_project_errors) {
  using exai::codecs::errc;
  BOOST_TEST((to_errc(provider_errc::timeout) == errc::timeout));
  BOOST_TEST((to_errc(provider_errc::cancelled) == errc::cancelled));
  for (auto c : {provider_errc::unknown_model, provider_errc::not_configured, provider_errc::auth,
                 provider_errc::server, provider_errc::circuit_open, provider_errc::tls}) {
    BOOST_TEST((to_errc(c) == errc::tool_failed));
    BOOST_TEST(!to_string(c).empty());
  }
}
