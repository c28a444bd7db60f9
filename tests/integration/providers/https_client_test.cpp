// net::https_client against the fake provider (a TEST DOUBLE process on loopback): TLS verified
// against a CA made at test time, an untrusted certificate refused, plain http://, streamed
// bodies delivered in pieces, keep-alive reuse, the per-host connection bound, timeouts, and a
// cancel that closes the stream (the fake records the client's close).
#define BOOST_TEST_MODULE providers_https_client
#include "fixture.hpp"
#include "net/https_client.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <optional>

using namespace exai::test;
using namespace exai::test::providers_it;
using namespace std::chrono_literals;
using exai::net::http_errc;
using boost::system::error_code;

namespace {

const char* stream_body =
    R"({"model":"glm-4.5","stream":true,"messages":[{"role":"user","content":"hello"}]})";

struct outcome {
  error_code ec;
  unsigned status = 0;
  std::string content_type;
  std::string body;
  std::size_t pieces = 0;
};

asio::awaitable<outcome> post(exai::net::https_client& c, std::string url, std::string body,
                              exai::net::http_timeouts t = {}, std::function<void()> on_first_piece = {}) {
  outcome o;
  exai::net::http_request req;
  req.url = std::move(url);
  req.headers.push_back({"Content-Type", "application/json"});
  req.body = std::move(body);
  o.ec = co_await c.async_request(
      req, t,
      [&](const exai::net::http_response_head& h) {
        o.status = h.status;
        o.content_type = std::string(h.header("Content-Type").value_or(""));
      },
      [&](std::string_view piece) {
        o.body.append(piece);
        if (++o.pieces == 1 && on_first_piece) on_first_piece();
        return true;
      });
  co_return o;
}

exai::net::https_client_options trusting(const std::string& ca) {
  exai::net::https_client_options o;
  o.ca_file = ca;
  return o;
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(tls_stream_arrives_in_pieces_and_the_connection_is_reused, io_fixture) {
  auto fake = fake_provider::start({true, "", {"--chunks", "20", "--chunk-interval-ms", "5"}});
  exai::net::https_client client(io.get_executor(), trusting(fake.ca_file()));
  auto a = run(post(client, fake.url() + "/api/paas/v4/chat/completions", stream_body));
  BOOST_TEST(!a.ec, a.ec.message());
  BOOST_TEST(a.status == 200u);
  BOOST_TEST(a.content_type.find("text/event-stream") != std::string::npos);
  BOOST_TEST(a.pieces > 1u);  // streamed, not buffered to the end
  BOOST_TEST(a.body.find("data: [DONE]") != std::string::npos);
  std::size_t events = 0;
  for (auto p = a.body.find("data: "); p != std::string::npos; p = a.body.find("data: ", p + 1)) ++events;
  BOOST_TEST(events >= 20u);

  auto b = run(post(client, fake.url() + "/api/paas/v4/chat/completions",
                    R"({"model":"glm-4.5","messages":[{"role":"user","content":"again"}]})"));
  BOOST_TEST(!b.ec);
  BOOST_TEST(b.status == 200u);
  BOOST_TEST(b.content_type == "application/json");
  BOOST_TEST(b.body.find("You said: again") != std::string::npos);
  auto st = client.stats();
  BOOST_TEST(st.connections_opened == 1u);
  BOOST_TEST(st.connections_reused == 1u);
  auto reqs = fake.requests();
  BOOST_TEST_REQUIRE(reqs.size() == 2u);
  BOOST_TEST(reqs[0].at("conn") == reqs[1].at("conn"));
  BOOST_TEST(reqs[0].at("path") == "/api/paas/v4/chat/completions");
  BOOST_TEST(reqs[0].at("headers").as_object().at("host").as_string().starts_with("127.0.0.1:"));
}

// A new connection to a host resumes the TLS session the host's last connection was given, so a
// burst of connections does not parse and verify the certificate chain once each.
BOOST_FIXTURE_TEST_CASE(a_new_connection_resumes_the_hosts_tls_session, io_fixture) {
  auto fake = fake_provider::start();
  auto opts = trusting(fake.ca_file());
  opts.max_idle_per_host = 0;  // every request opens a connection of its own
  exai::net::https_client client(io.get_executor(), opts);
  for (int i = 0; i < 3; ++i) {
    auto o = run(post(client, fake.url() + "/v1/chat/completions",
                      R"({"model":"m","messages":[{"role":"user","content":"again"}]})"));
    BOOST_TEST(!o.ec, o.ec.message());
    BOOST_TEST(o.status == 200u);
  }
  auto st = client.stats();
  BOOST_TEST(st.connections_opened == 3u);
  BOOST_TEST(st.tls_resumed == 2u);  // the first handshake is a full one

  // Sessions belong to the client that was given them: another one starts with a full handshake.
  exai::net::https_client other(io.get_executor(), trusting(fake.ca_file()));
  auto o = run(post(other, fake.url() + "/v1/chat/completions",
                    R"({"model":"m","messages":[{"role":"user","content":"other"}]})"));
  BOOST_TEST(!o.ec, o.ec.message());
  BOOST_TEST(other.stats().tls_resumed == 0u);
}

BOOST_FIXTURE_TEST_CASE(an_untrusted_certificate_is_refused, io_fixture) {
  auto fake = fake_provider::start();
  exai::net::https_client client(io.get_executor(), trusting(make_test_pki().other_ca_file));
  auto o = run(post(client, fake.url() + "/v1/chat/completions", stream_body));
  BOOST_TEST_REQUIRE(!!o.ec);
  BOOST_TEST((o.ec.category() == asio::error::get_ssl_category()), o.ec.message());
  BOOST_TEST(o.status == 0u);
  BOOST_TEST(fake.requests().empty());
  // The system store alone does not know the test CA either.
  exai::net::https_client plain(io.get_executor());
  BOOST_TEST((run(post(plain, fake.url() + "/v1/chat/completions", stream_body)).ec.category() ==
              asio::error::get_ssl_category()));
}

BOOST_FIXTURE_TEST_CASE(a_certificate_for_another_name_is_refused, io_fixture) {
  fake_provider_options o;
  o.wrong_name = true;  // signed by the trusted CA, but names other.invalid only
  auto fake = fake_provider::start(o);
  exai::net::https_client client(io.get_executor(), trusting(fake.ca_file()));
  auto r = run(post(client, fake.url() + "/v1/chat/completions", stream_body));
  BOOST_TEST_REQUIRE(!!r.ec);
  BOOST_TEST((r.ec.category() == asio::error::get_ssl_category()), r.ec.message());
  BOOST_TEST(fake.requests().empty());
}

BOOST_FIXTURE_TEST_CASE(host_names_and_sni, io_fixture) {
  // The certificate names 127.0.0.1 and localhost.
  auto fake = fake_provider::start();
  exai::net::https_client client(io.get_executor(), trusting(fake.ca_file()));
  std::string url = fake.url();
  url.replace(url.find("127.0.0.1"), 9, "localhost");
  auto ok = run(post(client, url + "/v1/chat/completions", stream_body));
  // localhost may resolve to ::1 first; the client tries every address, so this must work.
  BOOST_TEST(!ok.ec, ok.ec.message());
  BOOST_TEST(ok.status == 200u);
  // SNI carries the name; with an IP address URL no SNI is sent (RFC 6066).
  auto by_ip = run(post(client, fake.url() + "/v1/chat/completions", stream_body));
  BOOST_TEST(!by_ip.ec);
  auto tls = fake.records("tls");
  BOOST_TEST_REQUIRE(tls.size() == 2u);
  BOOST_TEST(tls[0].at("sni") == "localhost");
  BOOST_TEST(tls[1].at("sni").is_null());
}

BOOST_FIXTURE_TEST_CASE(a_handshake_that_never_completes_is_a_connect_timeout, io_fixture) {
  // A listener that never accepts: TCP connects (the kernel's backlog), TLS never answers.
  asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = silent.local_endpoint().port();
  exai::net::https_client client(io.get_executor());
  exai::net::http_timeouts t;
  t.connect = 200ms;
  auto o = run(post(client, "https://127.0.0.1:" + std::to_string(port) + "/v1/chat/completions", stream_body, t));
  BOOST_TEST((o.ec == http_errc::connect_timeout), o.ec.message());
}

BOOST_FIXTURE_TEST_CASE(plain_http_urls_work, io_fixture) {
  auto fake = fake_provider::start({false, "", {}});
  BOOST_TEST(fake.url().starts_with("http://"));
  exai::net::https_client client(io.get_executor());
  auto o = run(post(client, fake.url() + "/v1/chat/completions", stream_body));
  BOOST_TEST(!o.ec, o.ec.message());
  BOOST_TEST(o.status == 200u);
  BOOST_TEST(o.body.find("[DONE]") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(bad_urls_are_refused, io_fixture) {
  exai::net::https_client client(io.get_executor());
  for (const char* u : {"ftp://x/", "https://", "https://host:99999/", "https://user@host/", "nonsense"}) {
    auto o = run(post(client, u, "{}"));
    BOOST_TEST((o.ec == http_errc::bad_url), u);
  }
}

BOOST_FIXTURE_TEST_CASE(connections_per_host_are_bounded, io_fixture) {
  auto fake = fake_provider::start({true, R"({"steps":[{"delay_ms":200,"repeat":true}]})", {}});
  auto opts = trusting(fake.ca_file());
  opts.max_connections_per_host = 1;
  exai::net::https_client client(io.get_executor(), opts);
  using namespace boost::asio::experimental::awaitable_operators;
  auto both = run([&]() -> asio::awaitable<std::pair<outcome, outcome>> {
    auto [x, y] = co_await (post(client, fake.url() + "/v1/chat/completions", stream_body) &&
                            post(client, fake.url() + "/v1/chat/completions", stream_body));
    co_return std::pair{x, y};
  }());
  BOOST_TEST(!both.first.ec);
  BOOST_TEST(!both.second.ec);
  BOOST_TEST(client.stats().connections_opened == 1u);
  // One connection: the second request was sent only after the first answer was complete.
  auto recs = fake.records();
  std::vector<std::string> order;
  for (const auto& r : recs) order.push_back(std::string(r.at("event").as_string()));
  auto first_done = std::find(order.begin(), order.end(), "response_done");
  auto second_req = std::find(std::find(order.begin(), order.end(), "request") + 1, order.end(), "request");
  BOOST_TEST((first_done < second_req));
}

// Connections are opened max_opening at a time; an exchange waiting for its turn is cancelled at
// once and never reaches the provider, while the others still get their turns.
BOOST_FIXTURE_TEST_CASE(connections_open_a_few_at_a_time_and_a_waiting_one_cancels_at_once, io_fixture) {
  auto fake = fake_provider::start({true, "", {"--chunks", "3"}});
  auto opts = trusting(fake.ca_file());
  opts.max_opening = 1;
  exai::net::https_client client(io.get_executor(), opts);
  const auto url = fake.url() + "/v1/chat/completions";
  asio::cancellation_signal cancel_second;
  std::optional<outcome> second;
  auto all = run([&]() -> asio::awaitable<std::pair<outcome, outcome>> {
    auto ex = co_await asio::this_coro::executor;
    // The second is spawned while the first holds the only turn, and cancelled right away.
    asio::co_spawn(ex, post(client, url, stream_body),
                   asio::bind_cancellation_slot(cancel_second.slot(), [&](std::exception_ptr, outcome o) { second = o; }));
    asio::post(ex, [&] { cancel_second.emit(asio::cancellation_type::terminal); });
    using namespace boost::asio::experimental::awaitable_operators;
    auto [x, y] = co_await (post(client, url, stream_body) && post(client, url, stream_body));
    co_return std::pair{x, y};
  }());
  BOOST_TEST(!all.first.ec, all.first.ec.message());
  BOOST_TEST(!all.second.ec, all.second.ec.message());
  BOOST_REQUIRE(second.has_value());
  BOOST_TEST((second->ec == http_errc::cancelled), second->ec.message());
  BOOST_TEST(second->pieces == 0u);
  // Two exchanges answered, the cancelled one never sent: two requests at the provider.
  std::size_t requests = 0;
  for (const auto& r : fake.records()) requests += r.at("event") == "request";
  BOOST_TEST(requests == 2u);
}

BOOST_FIXTURE_TEST_CASE(first_byte_and_idle_timeouts, io_fixture) {
  auto fake = fake_provider::start({true,
      R"({"steps":[{"match":{"contains":"slow"},"delay_ms":5000},{"match":{"contains":"stall"},"stall_after_chunks":2,"repeat":true}]})", {}});
  exai::net::https_client client(io.get_executor(), trusting(fake.ca_file()));
  exai::net::http_timeouts t;
  t.first_byte = 200ms;
  t.idle = 200ms;
  auto slow = run(post(client, fake.url() + "/v1/chat/completions",
                       R"({"model":"m","stream":true,"messages":[{"role":"user","content":"slow"}]})", t));
  BOOST_TEST((slow.ec == http_errc::first_byte_timeout), slow.ec.message());
  auto stall = run(post(client, fake.url() + "/v1/chat/completions",
                        R"({"model":"m","stream":true,"messages":[{"role":"user","content":"stall"}]})", t));
  BOOST_TEST((stall.ec == http_errc::idle_timeout), stall.ec.message());
  BOOST_TEST(stall.status == 200u);
  BOOST_TEST(stall.pieces >= 1u);
  t.idle = 30s;
  t.total = 300ms;
  auto total = run(post(client, fake.url() + "/v1/chat/completions",
                        R"({"model":"m","stream":true,"messages":[{"role":"user","content":"stall"}]})", t));
  BOOST_TEST((total.ec == http_errc::total_timeout), total.ec.message());
}

BOOST_FIXTURE_TEST_CASE(cancel_closes_the_stream, io_fixture) {
  auto fake = fake_provider::start({true, R"({"steps":[{"stall_after_chunks":3}]})", {}});
  exai::net::https_client client(io.get_executor(), trusting(fake.ca_file()));
  asio::cancellation_signal cancel;
  auto o = run(post(client, fake.url() + "/v1/chat/completions", stream_body, {},
                    [&] { asio::post(io, [&] { cancel.emit(asio::cancellation_type::terminal); }); }),
               cancel);
  BOOST_TEST((o.ec == http_errc::cancelled), o.ec.message());
  BOOST_TEST(o.pieces >= 1u);
  BOOST_TEST(eventually(fake, [](const boost::json::object& r) {
    return r.at("event") == "client_closed" && r.at("request") == 1 && r.at("complete") == false;
  }));
  // The closed connection is not reused: the next request opens a new one.
  auto next = run(post(client, fake.url() + "/v1/chat/completions",
                       R"({"model":"m","messages":[{"role":"user","content":"after"}]})"));
  BOOST_TEST(!next.ec);
  BOOST_TEST(client.stats().connections_opened == 2u);
}

BOOST_FIXTURE_TEST_CASE(a_truncated_body_is_an_error, io_fixture) {
  auto fake = fake_provider::start({true, R"({"steps":[{"truncate_after_chunks":2},{"fault":"truncate"}]})", {}});
  exai::net::https_client client(io.get_executor(), trusting(fake.ca_file()));
  auto cut = run(post(client, fake.url() + "/v1/chat/completions", stream_body));
  BOOST_TEST(!!cut.ec);
  BOOST_TEST(cut.status == 200u);
  auto cut2 = run(post(client, fake.url() + "/v1/chat/completions",
                       R"({"model":"m","messages":[{"role":"user","content":"x"}]})"));
  BOOST_TEST(!!cut2.ec, "a Content-Length body cut short must not look complete");
}
