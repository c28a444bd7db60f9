// The admin HTTP server over real loopback sockets: /health, /ready, /metrics (moving with a
// counter), 404/405/HEAD, keep-alive, size limits, idle timeout, the connection cap, stop(), and
// a busy port (issue 6). The server runs in-process on 127.0.0.1 port 0 on its own thread.
#define BOOST_TEST_MODULE ops admin http
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>

#include "net/admin_http.hpp"
#include "observability/metrics.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto io_timeout = 5s;  // every client wait is bounded by this

// The admin server on its own io_context and thread, with handlers the test can steer.
struct server {
  asio::io_context ioc;
  exai::obs::registry reg;
  exai::obs::counter& hits = reg.get_counter("test_hits_total", "Hits the test counts.");
  std::atomic<bool> healthy{true};
  std::atomic<bool> ready{false};
  std::unique_ptr<exai::net::admin_server> srv;
  std::thread thread;
  std::atomic<bool> finished{false};
  std::uint16_t port = 0;

  explicit server(exai::net::admin_options opts = {}, bool default_handlers = false) {
    exai::net::admin_handlers h;
    if (!default_handlers) {
      h.healthy = [this] { return healthy.load(); };
      h.ready = [this]() -> std::pair<bool, std::string> {
        if (ready) return {true, ""};
        return {false, R"({"ready":false,"reason":"no daemon connection"})"};
      };
      h.metrics = [this] { return reg.render(); };
    }
    srv = std::make_unique<exai::net::admin_server>(ioc.get_executor(), std::move(h), opts);
    auto ec = srv->listen("127.0.0.1", 0);
    BOOST_REQUIRE_MESSAGE(!ec, "listen: " << ec.message());
    std::string ep = srv->local_endpoint();
    BOOST_REQUIRE(ep.starts_with("127.0.0.1:"));
    port = static_cast<std::uint16_t>(std::stoi(ep.substr(ep.rfind(':') + 1)));
    BOOST_REQUIRE(port != 0);
    srv->start();
    thread = std::thread([this] {
      ioc.run();
      finished = true;
    });
  }

  // stop() must let run() return by itself: no ioc.stop() unless it failed to.
  bool stop_and_join(std::chrono::milliseconds limit = 5000ms) {
    srv->stop();
    auto until = std::chrono::steady_clock::now() + limit;
    while (!finished && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
    bool clean = finished;
    if (!clean) ioc.stop();
    if (thread.joinable()) thread.join();
    return clean;
  }

  ~server() {
    if (thread.joinable()) stop_and_join();
    srv.reset();
  }
};

// A small blocking HTTP/1.1 client: each operation runs the client's own io_context until it
// completes, bounded by the stream's timeout.
struct client {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;

  explicit client(std::uint16_t port) {
    boost::system::error_code result = asio::error::would_block;
    stream.expires_after(io_timeout);
    stream.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                         [&](boost::system::error_code ec) { result = ec; });
    run();
    BOOST_REQUIRE_MESSAGE(!result, "connect: " << result.message());
  }

  void run() {
    ioc.restart();
    ioc.run();
  }

  boost::system::error_code send(http::verb verb, std::string_view target, bool keep_alive = true,
                                 unsigned version = 11, std::string body = {}) {
    http::request<http::string_body> req{verb, target, version};
    req.set(http::field::host, "127.0.0.1");
    req.keep_alive(keep_alive);
    if (!body.empty()) {
      req.body() = std::move(body);
      req.prepare_payload();
    }
    boost::system::error_code result;
    stream.expires_after(io_timeout);
    http::async_write(stream, req, [&](boost::system::error_code ec, std::size_t) { result = ec; });
    run();
    return result;
  }

  boost::system::error_code send_raw(std::string raw) {
    boost::system::error_code result;
    stream.expires_after(io_timeout);
    asio::async_write(stream, asio::buffer(raw),
                      [&](boost::system::error_code ec, std::size_t) { result = ec; });
    run();
    return result;
  }

  // nullopt when the server closed the connection or the read failed.
  std::optional<http::response<http::string_body>> receive(bool head = false) {
    http::response_parser<http::string_body> parser;
    parser.skip(head);  // a HEAD response announces a body it does not send
    boost::system::error_code result;
    stream.expires_after(io_timeout);
    http::async_read(stream, buffer, parser,
                     [&](boost::system::error_code ec, std::size_t) { result = ec; });
    run();
    if (result) return std::nullopt;
    return parser.release();
  }

  http::response<http::string_body> get(std::string_view target, bool keep_alive = true) {
    BOOST_REQUIRE(!send(http::verb::get, target, keep_alive));
    auto res = receive();
    BOOST_REQUIRE_MESSAGE(res.has_value(), "no response to GET " << target);
    return std::move(*res);
  }

  // True when the server closes the connection (EOF) within the timeout.
  bool closed_by_peer(std::chrono::milliseconds limit = io_timeout) {
    char byte;
    boost::system::error_code result;
    stream.expires_after(limit);
    stream.async_read_some(asio::buffer(&byte, 1),
                           [&](boost::system::error_code ec, std::size_t) { result = ec; });
    run();
    return result == asio::error::eof || result == asio::error::connection_reset;
  }
};

std::string header(const http::response<http::string_body>& res, http::field f) {
  return std::string(res[f]);
}

}  // namespace

BOOST_AUTO_TEST_CASE(health_follows_the_handler) {
  server s;
  client c(s.port);
  auto res = c.get("/health");
  BOOST_TEST(res.result_int() == 200);
  BOOST_TEST(res.body() == R"({"status":"ok"})");
  BOOST_TEST(header(res, http::field::content_type) == "application/json");
  s.healthy = false;
  res = c.get("/health");
  BOOST_TEST(res.result_int() == 503);
  BOOST_TEST(json::parse(res.body()).at("status").as_string() == "unhealthy");
}

BOOST_AUTO_TEST_CASE(ready_is_503_with_the_reason_until_ready) {
  server s;
  client c(s.port);
  auto res = c.get("/ready");
  BOOST_TEST(res.result_int() == 503);
  auto reason = json::parse(res.body());
  BOOST_TEST(reason.at("ready").as_bool() == false);
  BOOST_TEST(reason.at("reason").as_string() == "no daemon connection");
  s.ready = true;
  res = c.get("/ready");
  BOOST_TEST(res.result_int() == 200);
  BOOST_TEST(res.body() == R"({"ready":true})");
}

BOOST_AUTO_TEST_CASE(metrics_move_between_two_requests_on_one_connection) {
  server s;
  client c(s.port);
  auto first = c.get("/metrics");
  BOOST_TEST(first.result_int() == 200);
  BOOST_TEST(header(first, http::field::content_type) == "text/plain; version=0.0.4; charset=utf-8");
  BOOST_TEST(first.body().find("# TYPE test_hits_total counter\n") != std::string::npos);
  BOOST_TEST(first.body().find("\ntest_hits_total 0\n") != std::string::npos);
  BOOST_TEST(first.keep_alive());
  s.hits.inc(5);
  auto second = c.get("/metrics");  // same socket: keep-alive works
  BOOST_TEST(second.body().find("\ntest_hits_total 5\n") != std::string::npos);
  BOOST_TEST(second.body().find("\ntest_hits_total 0\n") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(unknown_paths_methods_and_head) {
  server s;
  client c(s.port);
  auto res = c.get("/nope");
  BOOST_TEST(res.result_int() == 404);
  res = c.get("/metrics?name=x");  // a query string does not change the path
  BOOST_TEST(res.result_int() == 200);

  BOOST_REQUIRE(!c.send(http::verb::post, "/health"));
  auto post = c.receive();
  BOOST_REQUIRE(post.has_value());
  BOOST_TEST(post->result_int() == 405);
  BOOST_TEST(header(*post, http::field::allow) == "GET, HEAD");

  BOOST_REQUIRE(!c.send(http::verb::delete_, "/nope"));
  auto del = c.receive();
  BOOST_REQUIRE(del.has_value());
  BOOST_TEST(del->result_int() == 404);

  s.hits.inc(3);
  auto get = c.get("/metrics");
  BOOST_REQUIRE(!c.send(http::verb::head, "/metrics"));
  auto head = c.receive(true);
  BOOST_REQUIRE(head.has_value());
  BOOST_TEST(head->result_int() == 200);
  BOOST_TEST(head->body().empty());
  BOOST_TEST(header(*head, http::field::content_length) == std::to_string(get.body().size()));
  BOOST_TEST(header(*head, http::field::content_type) == header(get, http::field::content_type));
  // The connection is still in step after HEAD.
  BOOST_TEST(c.get("/health").result_int() == 200);
}

BOOST_AUTO_TEST_CASE(http10_and_connection_close_end_the_connection) {
  server s;
  {
    client c(s.port);
    auto res = c.get("/health", false);
    BOOST_TEST(res.result_int() == 200);
    BOOST_TEST(!res.keep_alive());
    BOOST_TEST(c.closed_by_peer());
  }
  {
    client c(s.port);
    BOOST_REQUIRE(!c.send(http::verb::get, "/health", false, 10));
    auto res = c.receive();
    BOOST_REQUIRE(res.has_value());
    BOOST_TEST(res->result_int() == 200);
    BOOST_TEST(res->version() == 10u);
    BOOST_TEST(c.closed_by_peer());
  }
}

BOOST_AUTO_TEST_CASE(oversized_and_malformed_requests) {
  server s;
  {
    client c(s.port);
    std::string raw = "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(16 * 1024, 'a') +
                      "\r\n\r\n";
    c.send_raw(raw);  // the server may close before reading it all
    auto res = c.receive();
    BOOST_REQUIRE(res.has_value());
    BOOST_TEST(res->result_int() == 431);
    BOOST_TEST(c.closed_by_peer());
  }
  {
    client c(s.port);
    BOOST_REQUIRE(!c.send(http::verb::post, "/health", true, 11, std::string(64 * 1024, 'b')));
    auto res = c.receive();
    BOOST_REQUIRE(res.has_value());
    BOOST_TEST(res->result_int() == 413);
    BOOST_TEST(c.closed_by_peer());
  }
  {
    client c(s.port);
    BOOST_REQUIRE(!c.send_raw("NOT HTTP AT ALL\r\n\r\n"));
    auto res = c.receive();
    BOOST_REQUIRE(res.has_value());
    BOOST_TEST(res->result_int() == 400);
    BOOST_TEST(c.closed_by_peer());
  }
  // The server still serves.
  client c(s.port);
  BOOST_TEST(c.get("/health").result_int() == 200);
}

BOOST_AUTO_TEST_CASE(idle_and_slow_connections_are_closed) {
  exai::net::admin_options opts;
  opts.read_timeout = 300ms;
  server s(opts);
  client idle(s.port);
  BOOST_TEST(idle.closed_by_peer());  // nothing sent at all

  client slow(s.port);
  BOOST_REQUIRE(!slow.send_raw("GET /health HTTP/1.1\r\nHost: x\r\n"));  // never finished
  BOOST_TEST(slow.closed_by_peer());

  client kept(s.port);
  BOOST_TEST(kept.get("/health").result_int() == 200);
  BOOST_TEST(kept.closed_by_peer());  // idle after a keep-alive response
}

BOOST_AUTO_TEST_CASE(connections_beyond_the_cap_get_503_and_are_closed) {
  exai::net::admin_options opts;
  opts.max_connections = 2;
  server s(opts);
  client a(s.port), b(s.port);
  BOOST_TEST(a.get("/health").result_int() == 200);  // both registered before the third arrives
  BOOST_TEST(b.get("/health").result_int() == 200);
  // Issue 14: an answer, not a silent close (which a load balancer cannot tell from a crash).
  client third(s.port);
  auto res = third.get("/health");
  BOOST_TEST(res.result_int() == 503);
  BOOST_TEST(res.body().find("too many admin connections") != std::string::npos);
  BOOST_TEST(third.closed_by_peer());
  BOOST_TEST(a.get("/health").result_int() == 200);
}

BOOST_AUTO_TEST_CASE(slow_requests_have_a_short_default_deadline) {
  // Issue 14: 64 slowloris clients held every slot for 10 s. The default header deadline is 2 s.
  BOOST_TEST(exai::net::admin_options{}.read_timeout.count() <= 2000);
  exai::net::admin_options opts;
  opts.max_connections = 4;
  server s(opts);
  std::vector<std::unique_ptr<client>> slow;
  for (int i = 0; i < 4; ++i) {
    slow.push_back(std::make_unique<client>(s.port));
    BOOST_REQUIRE(!slow.back()->send_raw("GET /health HTTP/1.1\r\nHost: x\r\n"));  // never ends
  }
  const auto t0 = std::chrono::steady_clock::now();
  for (auto& c : slow) BOOST_TEST(c->closed_by_peer());
  const auto took = std::chrono::steady_clock::now() - t0;
  BOOST_TEST(took < std::chrono::seconds(8), "slow clients held their slots for "
                                                 << std::chrono::duration<double>(took).count() << " s");
  client c(s.port);
  BOOST_TEST(c.get("/health").result_int() == 200);
}

BOOST_AUTO_TEST_CASE(stop_closes_connections_and_lets_run_return) {
  server s;
  client c(s.port);
  BOOST_TEST(c.get("/health").result_int() == 200);
  client waiting(s.port);  // connected, no request yet
  BOOST_TEST(s.stop_and_join(), "io_context::run did not return after stop()");
  BOOST_TEST(c.closed_by_peer());
  BOOST_TEST(waiting.closed_by_peer());

  asio::io_context ioc;
  tcp::socket sock(ioc);
  boost::system::error_code ec;
  sock.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), s.port), ec);
  BOOST_TEST(ec == asio::error::connection_refused, "connect after stop: " << ec.message());
}

BOOST_AUTO_TEST_CASE(busy_port_reports_address_in_use) {
  server s;
  asio::io_context ioc;
  exai::net::admin_server second(ioc.get_executor(), {});
  auto ec = second.listen("127.0.0.1", s.port);
  BOOST_TEST(ec == asio::error::address_in_use, "got: " << ec.message());
  BOOST_TEST(second.local_endpoint().empty());
  BOOST_TEST(second.listen("not an address !", 0).failed());
}

BOOST_AUTO_TEST_CASE(default_handlers_serve_the_process_registry) {
  exai::obs::metrics().get_counter("test_default_registry_total", "Process-wide.").inc(7);
  server s({}, true);
  client c(s.port);
  BOOST_TEST(c.get("/health").result_int() == 200);
  BOOST_TEST(c.get("/ready").result_int() == 200);
  auto res = c.get("/metrics");
  BOOST_TEST(res.body().find("\ntest_default_registry_total 7\n") != std::string::npos);
}
