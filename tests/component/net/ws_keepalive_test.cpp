// Component tests for net::ws_keepalive (issue 7: the keep-alive that replaced Beast's per-read
// idle timer): a websocket::stream pair over beast::test::stream on one io_context, with a 200 ms
// idle timeout (a tick every 50 ms). What is checked is behaviour (a ping goes out, a silent peer
// is dropped, a live one is not), each within generous bounds; nothing here measures speed.
#define BOOST_TEST_MODULE net_ws_keepalive_component
#include <boost/test/unit_test.hpp>

#include "net/ws_keepalive.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using boost::system::error_code;
using ws_type = websocket::stream<beast::test::stream>;
using keepalive = exai::net::ws_keepalive<ws_type>;
using namespace std::chrono_literals;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::chrono::milliseconds idle = 200ms;

// A connected, upgraded pair: `server` has the keep-alive, `client` plays the peer.
struct pair_fixture {
  asio::io_context ioc;
  ws_type server{ioc};
  ws_type client{ioc};
  keepalive ka;

  // What the server's one pending read ended with, once it has.
  std::optional<error_code> server_read_end;
  std::uint64_t server_messages = 0;
  beast::flat_buffer server_buf;

  pair_fixture() {
    server.next_layer().connect(client.next_layer());
    bool accepted = false, shaken = false;
    server.async_accept([&](error_code ec) { accepted = !ec; });
    client.async_handshake("localhost", "/", [&](error_code ec) { shaken = !ec; });
    ioc.run_for(2s);
    ioc.restart();
    BOOST_TEST_REQUIRE(accepted);
    BOOST_TEST_REQUIRE(shaken);
  }

  // Reads `ws` for as long as the connection lives, calling on_message for each message, and
  // records how the reads ended.
  void spawn_reader(ws_type& ws, beast::flat_buffer& buf, std::optional<error_code>& end,
                    std::function<void()> on_message) {
    asio::co_spawn(
        ioc,
        [&ws, &buf, &end, on_message = std::move(on_message)]() -> asio::awaitable<void> {
          for (;;) {
            buf.consume(buf.size());
            auto [ec, n] = co_await ws.async_read(buf, nothrow);
            if (ec) {
              end = ec;
              co_return;
            }
            on_message();
          }
        },
        asio::detached);
  }

  // The server reads and reports each message to the keep-alive, as the gateway's transports do.
  void start_server_reader() {
    spawn_reader(server, server_buf, server_read_end, [this] {
      ++server_messages;
      ka.note_activity();
    });
  }

  // The client reads too (Beast then answers each ping with a pong), and counts pings.
  std::uint64_t client_pings = 0;
  std::optional<error_code> client_read_end;
  beast::flat_buffer client_buf;
  void start_client_reader() {
    client.control_callback([this](websocket::frame_type kind, beast::string_view) {
      if (kind == websocket::frame_type::ping) ++client_pings;
    });
    spawn_reader(client, client_buf, client_read_end, [] {});
  }

  // Runs the io_context for `d` of real time, or until `done` holds (checked every 10 ms).
  template <class Pred>
  void run_until(std::chrono::milliseconds d, Pred done) {
    const auto end = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < end && !done()) {
      ioc.run_for(10ms);
      ioc.restart();
    }
  }
  void run_for(std::chrono::milliseconds d) {
    run_until(d, [] { return false; });
  }
};

BOOST_FIXTURE_TEST_CASE(a_silent_peer_is_pinged_once_then_dropped, pair_fixture) {
  ka.start(server, idle);
  start_server_reader();
  // The client neither reads nor writes: one ping after half the idle time, then the close.
  run_until(5s, [&] { return server_read_end.has_value(); });
  BOOST_TEST_REQUIRE(server_read_end.has_value(), "the silent connection was never dropped");
  BOOST_TEST(ka.pings_sent() == 1u);
  BOOST_TEST(server_messages == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_peer_that_answers_pings_stays, pair_fixture) {
  ka.start(server, idle);
  start_server_reader();
  start_client_reader();
  // Five idle timeouts with no message either way: the pongs alone keep it open.
  run_for(1000ms);
  BOOST_TEST(!server_read_end.has_value(), "dropped although every ping was answered");
  BOOST_TEST(!client_read_end.has_value());
  BOOST_TEST(ka.pings_sent() >= 2u);
  BOOST_TEST(client_pings == ka.pings_sent());
}

BOOST_FIXTURE_TEST_CASE(messages_count_as_activity, pair_fixture) {
  ka.start(server, idle);
  start_server_reader();
  // The client sends a message every 30 ms and never reads (it could not answer a ping).
  bool stop = false;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer t(ioc);
        while (!stop) {
          auto [ec, n] = co_await client.async_write(asio::buffer(std::string("tick")), nothrow);
          if (ec) co_return;
          t.expires_after(30ms);
          co_await t.async_wait(nothrow);
        }
      },
      asio::detached);
  run_for(800ms);
  stop = true;
  BOOST_TEST(!server_read_end.has_value(), "dropped although messages kept arriving");
  BOOST_TEST(server_messages >= 5u);
  BOOST_TEST(ka.pings_sent() == 0u);
}

BOOST_FIXTURE_TEST_CASE(stop_disarms_the_watch, pair_fixture) {
  ka.start(server, idle);
  start_server_reader();
  ka.stop();
  run_for(600ms);  // three idle timeouts of silence
  BOOST_TEST(!server_read_end.has_value(), "a stopped keep-alive closed the connection");
  BOOST_TEST(ka.pings_sent() == 0u);
}

// Issue 14: while the owner waits for answers the short busy timeout applies, so a stopped peer
// is found in a fraction of the idle timeout; not busy, the idle timeout alone counts.
BOOST_FIXTURE_TEST_CASE(busy_uses_the_short_timeout_and_reports_it, pair_fixture) {
  ka.start(server, 10s, idle);
  start_server_reader();
  run_for(600ms);  // three busy timeouts of silence, not busy: nothing happens
  BOOST_TEST(!server_read_end.has_value(), "dropped by the busy timeout while not busy");
  BOOST_TEST(!ka.timed_out());
  ka.set_busy(true);
  run_until(5s, [&] { return server_read_end.has_value(); });
  BOOST_TEST_REQUIRE(server_read_end.has_value(), "a silent peer was not dropped while busy");
  BOOST_TEST(ka.timed_out());
  BOOST_TEST(ka.pings_sent() == 1u);
}

BOOST_FIXTURE_TEST_CASE(busy_with_a_peer_that_answers_pings_stays, pair_fixture) {
  ka.start(server, 10s, idle);
  start_server_reader();
  start_client_reader();
  ka.set_busy(true);
  run_for(1000ms);  // five busy timeouts; the pongs keep it open
  BOOST_TEST(!server_read_end.has_value(), "dropped although every ping was answered");
  BOOST_TEST(!ka.timed_out());
  BOOST_TEST(ka.pings_sent() >= 2u);
}

BOOST_FIXTURE_TEST_CASE(a_zero_idle_timeout_is_off, pair_fixture) {
  ka.start(server, 0ms);
  start_server_reader();
  run_for(300ms);
  BOOST_TEST(!server_read_end.has_value());
  BOOST_TEST(ka.pings_sent() == 0u);
}

}  // namespace
