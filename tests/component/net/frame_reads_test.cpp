// cork_stream's frame-aligned reads (net/cork_stream.hpp) under a Beast websocket server on
// loopback TCP: the messages one receive brings in are all delivered in the same turn of the
// event loop (a ticker that re-posts itself measures the turns), messages arrive intact when their
// frames are cut anywhere across receives, a large message and a ping between messages are read
// as before, and without the switch each buffered message costs a turn (what the switch fixes).
#define BOOST_TEST_MODULE net_frame_reads_component
#include <boost/test/unit_test.hpp>

#include "net/cork_stream.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using server_ws = websocket::stream<exai::net::cork_stream<tcp::socket>>;

// One client frame (masked, as RFC 6455 requires of a client), FIN set.
std::string frame(unsigned opcode, const std::string& payload) {
  std::string f;
  f.push_back(static_cast<char>(0x80 | opcode));
  const std::size_t n = payload.size();
  if (n < 126) {
    f.push_back(static_cast<char>(0x80 | n));
  } else if (n < 65536) {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n & 0xff));
  } else {
    f.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>((static_cast<std::uint64_t>(n) >> (8 * i)) & 0xff));
  }
  const unsigned char key[4] = {0x12, 0x34, 0x56, 0x78};
  for (unsigned char k : key) f.push_back(static_cast<char>(k));
  for (std::size_t i = 0; i < n; ++i) f.push_back(static_cast<char>(payload[i] ^ key[i % 4]));
  return f;
}

std::string message_text(int i) { return R"({"op":"cancel","request_id":"call-)" + std::to_string(i) + R"("})"; }

// A websocket server on one end of a loopback pair and a raw socket (after a Beast client
// handshake) on the other, so the test writes frames in exactly the pieces it wants.
struct fixture {
  asio::io_context ioc;
  tcp::socket raw{ioc};
  server_ws server{ioc};
  std::vector<std::string> got;      // messages read by the server
  std::vector<long> turn_of;         // the ticker's count when each was read
  long ticks = 0;
  bool done = false;

  explicit fixture(bool frames) {
    tcp::acceptor acc(ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    websocket::stream<tcp::socket> client(ioc);
    client.next_layer().connect(acc.local_endpoint());
    acc.accept(server.next_layer().next_layer());
    error_code aec, hec;
    server.async_accept([&](error_code ec) { aec = ec; });
    client.async_handshake("127.0.0.1", "/", [&](error_code ec) { hec = ec; });
    ioc.run();
    ioc.restart();
    BOOST_TEST_REQUIRE(!aec, aec.message());
    BOOST_TEST_REQUIRE(!hec, hec.message());
    raw = std::move(client.next_layer());
    server.next_layer().frame_aligned_reads(frames);
    server.read_message_max(0);
  }

  asio::awaitable<void> read_loop(std::size_t want) {
    beast::flat_buffer buf;
    while (got.size() < want) {
      error_code ec;
      co_await server.async_read_some(buf, 1u << 20, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      if (!server.is_message_done()) continue;
      got.push_back(beast::buffers_to_string(buf.data()));
      buf.consume(buf.size());
      turn_of.push_back(ticks);
    }
    done = true;
  }

  asio::awaitable<void> ticker() {
    while (!done) {
      ++ticks;
      co_await asio::post(ioc, asio::use_awaitable);
    }
  }

  void run(std::size_t want) {
    asio::co_spawn(ioc, read_loop(want), asio::detached);
    asio::co_spawn(ioc, ticker(), asio::detached);
    ioc.run_for(std::chrono::seconds(5));
  }
};

constexpr int burst = 50;

std::string burst_bytes() {
  std::string all;
  for (int i = 0; i < burst; ++i) all += frame(0x1, message_text(i));
  return all;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_burst_of_buffered_messages_is_read_in_one_turn) {
  fixture f(true);
  asio::write(f.raw, asio::buffer(burst_bytes()));  // one send: all are buffered at the first read
  f.run(burst);
  BOOST_TEST_REQUIRE(f.got.size() == static_cast<std::size_t>(burst));
  for (int i = 0; i < burst; ++i) BOOST_TEST(f.got[i] == message_text(i));
  // The max_inline_reads bound (64) is above the burst: every message in the same turn.
  BOOST_TEST(f.turn_of.back() - f.turn_of.front() <= 1, "turns taken: " << f.turn_of.back() - f.turn_of.front());
}

// What the switch changes: without it Beast completes each buffered message through a post, so
// the burst takes a turn per message.
BOOST_AUTO_TEST_CASE(without_frame_reads_each_buffered_message_costs_a_turn) {
  fixture f(false);
  asio::write(f.raw, asio::buffer(burst_bytes()));
  f.run(burst);
  BOOST_TEST_REQUIRE(f.got.size() == static_cast<std::size_t>(burst));
  BOOST_TEST(f.turn_of.back() - f.turn_of.front() >= burst / 2);
}

BOOST_AUTO_TEST_CASE(frames_cut_anywhere_across_receives_arrive_intact) {
  fixture f(true);
  std::string all = frame(0x1, std::string(300, 'a')) + frame(0x1, "b") + frame(0x1, std::string(70'000, 'c')) +
                    frame(0x9, "ping") + frame(0x1, "after the ping") + burst_bytes();
  // Pieces of 1, 2, 3, ... 97 bytes, each its own send after a short pause: headers, lengths
  // and payloads are split at every kind of place.
  asio::steady_timer pause(f.ioc);
  std::size_t at = 0, piece = 1;
  std::function<void()> send_next = [&] {
    if (at >= all.size()) return;
    const std::size_t n = std::min(piece, all.size() - at);
    asio::write(f.raw, asio::buffer(all.data() + at, n));
    at += n;
    piece = piece % 97 + 1;
    pause.expires_after(std::chrono::microseconds(at < 2000 ? 200 : 0));
    pause.async_wait([&](error_code) { send_next(); });
  };
  send_next();
  f.run(4 + burst);
  BOOST_TEST_REQUIRE(f.got.size() == static_cast<std::size_t>(4 + burst));
  BOOST_TEST(f.got[0] == std::string(300, 'a'));
  BOOST_TEST(f.got[1] == "b");
  BOOST_TEST(f.got[2] == std::string(70'000, 'c'));
  BOOST_TEST(f.got[3] == "after the ping");
  for (int i = 0; i < burst; ++i) BOOST_TEST(f.got[4 + i] == message_text(i));
  // The ping was answered (Beast writes the pong itself): a pong frame is readable on the raw
  // socket, opcode 0xA.
  std::string reply(64, '\0');
  f.raw.non_blocking(false);
  const std::size_t n = f.raw.read_some(asio::buffer(reply));
  BOOST_TEST_REQUIRE(n >= 2u);
  BOOST_TEST((static_cast<unsigned char>(reply[0]) & 0x0f) == 0xAu);
}

BOOST_AUTO_TEST_CASE(more_messages_than_the_inline_bound_still_all_arrive_in_few_turns) {
  fixture f(true);
  std::string all;
  for (int i = 0; i < 300; ++i) all += frame(0x1, message_text(i));
  asio::write(f.raw, asio::buffer(all));
  f.run(300);
  BOOST_TEST_REQUIRE(f.got.size() == 300u);
  for (int i = 0; i < 300; ++i) BOOST_TEST(f.got[i] == message_text(i));
  // One post per 64 nested deliveries, and at most one more receive per 64 KB.
  BOOST_TEST(f.turn_of.back() - f.turn_of.front() <= 12, "turns taken: " << f.turn_of.back() - f.turn_of.front());
}
