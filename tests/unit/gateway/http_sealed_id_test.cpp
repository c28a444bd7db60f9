// Unit tests for sealed session ids (gateway/http/sealed_id.hpp): round trip, tampering, another
// secret, expiry, malformed tokens, and the size cap.
#define BOOST_TEST_MODULE gateway_http_unit
#include "gateway/http/sealed_id.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <set>

namespace http = exai::gateway::http;
using namespace std::chrono_literals;

namespace {

const auto t0 = http::wall_clock::time_point(std::chrono::seconds(1'800'000'000));

http::session_claims sample() {
  http::session_claims c;
  c.protocol_version = "2025-06-18";
  c.client_capabilities = boost::json::parse(R"({"roots":{"listChanged":true}})").as_object();
  c.expires = t0 + 3600s;
  c.nonce = http::random_nonce();
  return c;
}

bool visible_ascii(const std::string& s) {
  for (unsigned char ch : s) {
    if (ch < 0x21 || ch > 0x7e) return false;
  }
  return true;
}

}  // namespace

BOOST_AUTO_TEST_CASE(round_trip_carries_what_was_negotiated) {
  http::session_sealer s("a shared secret of some length");
  BOOST_TEST(s.shared());
  const auto c = sample();
  const auto token = s.seal(c);
  BOOST_TEST(visible_ascii(token));
  auto r = s.open(token, t0);
  BOOST_REQUIRE(r);
  BOOST_TEST(r.claims->protocol_version == "2025-06-18");
  BOOST_TEST(r.claims->client_capabilities == c.client_capabilities);
  BOOST_TEST(r.claims->nonce == c.nonce);
  BOOST_TEST(!r.claims->legacy_sse);
  BOOST_CHECK(r.claims->expires == c.expires);
}

BOOST_AUTO_TEST_CASE(a_second_sealer_with_the_same_secret_accepts_the_id) {
  http::session_sealer a("replica secret");
  http::session_sealer b("replica secret");
  BOOST_TEST(static_cast<bool>(b.open(a.seal(sample()), t0)));
}

BOOST_AUTO_TEST_CASE(another_secret_refuses_the_id) {
  http::session_sealer a("replica secret");
  http::session_sealer b("another secret");
  auto r = b.open(a.seal(sample()), t0);
  BOOST_TEST(!r);
  BOOST_CHECK(r.error == http::seal_error::bad_signature);
}

BOOST_AUTO_TEST_CASE(random_keys_differ_per_process_instance) {
  http::session_sealer a("");
  http::session_sealer b("");
  BOOST_TEST(!a.shared());
  const auto token = a.seal(sample());
  BOOST_TEST(static_cast<bool>(a.open(token, t0)));
  BOOST_TEST(!b.open(token, t0));
}

BOOST_AUTO_TEST_CASE(every_flipped_bit_is_refused) {
  http::session_sealer s("k");
  const auto token = s.seal(sample());
  // Flip each bit of each character; anything that still opens would be a forgery.
  for (std::size_t i = 0; i < token.size(); ++i) {
    for (int bit = 0; bit < 7; ++bit) {
      std::string t = token;
      t[i] = static_cast<char>(t[i] ^ (1 << bit));
      BOOST_TEST_CONTEXT("char " << i << " bit " << bit) { BOOST_TEST(!s.open(t, t0)); }
    }
  }
}

BOOST_AUTO_TEST_CASE(payload_changes_break_the_signature) {
  http::session_sealer s("k");
  auto c = sample();
  const auto genuine = s.seal(c);
  c.protocol_version = "2024-11-05";
  const auto other = s.seal(c);
  // The other token's payload with the genuine token's MAC.
  const auto forged = other.substr(0, other.find('.')) + genuine.substr(genuine.find('.'));
  auto r = s.open(forged, t0);
  BOOST_TEST(!r);
  BOOST_CHECK(r.error == http::seal_error::bad_signature);
}

BOOST_AUTO_TEST_CASE(expiry_is_enforced) {
  http::session_sealer s("k");
  const auto token = s.seal(sample());
  BOOST_TEST(static_cast<bool>(s.open(token, t0 + 3599s)));
  auto r = s.open(token, t0 + 3600s);
  BOOST_TEST(!r);
  BOOST_CHECK(r.error == http::seal_error::expired);
}

BOOST_AUTO_TEST_CASE(malformed_tokens_are_refused) {
  http::session_sealer s("k");
  for (std::string_view t : {"", ".", "abc", "abc.", ".abc", "a.b.c", "!!!.???", "AAAA.AAAA"}) {
    auto r = s.open(t, t0);
    BOOST_TEST_CONTEXT(t) {
      BOOST_TEST(!r);
      BOOST_CHECK(r.error != http::seal_error::expired);
    }
  }
  BOOST_TEST(!s.open(std::string(http::session_sealer::max_token_bytes + 1, 'A'), t0));
}

BOOST_AUTO_TEST_CASE(ids_are_unique_and_bounded) {
  http::session_sealer s("k");
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto c = sample();
    seen.insert(s.seal(c));
  }
  BOOST_TEST(seen.size() == 100u);
  // Huge capabilities are dropped rather than making an id no header can carry.
  auto c = sample();
  c.client_capabilities["experimental"] = std::string(10000, 'x');
  const auto token = s.seal(c);
  BOOST_TEST(token.size() <= http::session_sealer::max_token_bytes);
  auto r = s.open(token, t0);
  BOOST_REQUIRE(r);
  BOOST_TEST(r.claims->client_capabilities.empty());
}

BOOST_AUTO_TEST_CASE(legacy_flag_round_trips) {
  http::session_sealer s("k");
  auto c = sample();
  c.legacy_sse = true;
  auto r = s.open(s.seal(c), t0);
  BOOST_REQUIRE(r);
  BOOST_TEST(r.claims->legacy_sse);
}
