// net::drain_aware_buffers (net/drain_aware_read.hpp) on loopback TCP sockets: the receive step
// reports a short receive as exhausted (so Asio's reactor skips its next speculative receive),
// and reads through cork_stream<tcp::socket> still complete for every byte, whether it arrived
// before the read started, right after a short read, or while the read waited.
#define BOOST_TEST_MODULE net_drain_aware_read_component
#include <boost/test/unit_test.hpp>

#include "net/cork_stream.hpp"
#include "net/drain_aware_read.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <chrono>
#include <functional>
#include <thread>
#include <string>

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// A connected loopback pair on `ioc`.
struct socket_pair {
  explicit socket_pair(asio::io_context& ioc) : a(ioc), b(ioc) {
    tcp::acceptor acc(ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    a.connect(acc.local_endpoint());
    acc.accept(b);
  }
  tcp::socket a;
  tcp::socket b;
};

using recv_step = asio::detail::reactive_socket_recv_op_base<exai::net::drain_aware_buffers>;
using status = asio::detail::reactor_op::status;

// Performs one receive step into `buf` the way the reactor does, returning its status.
status perform_once(tcp::socket& s, std::string& buf, std::size_t& n) {
  s.non_blocking(true);
  recv_step op(error_code(), s.native_handle(), asio::detail::socket_ops::stream_oriented,
               exai::net::drain_aware_buffers(asio::buffer(buf)), 0, nullptr);
  const status st = op.perform();
  n = op.bytes_transferred_;
  return st;
}

// Waits (bounded) until `s` has `bytes` readable, so a step sees all of them.
void wait_readable(tcp::socket& s, std::size_t bytes) {
  for (int i = 0; i < 1000 && s.available() < bytes; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  BOOST_TEST_REQUIRE(s.available() >= bytes);
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_short_receive_is_exhausted_a_full_one_is_not) {
  asio::io_context ioc;
  socket_pair p(ioc);
  std::string buf(64, '\0');
  std::size_t n = 0;

  // Nothing queued: not done (the reactor waits for readiness).
  BOOST_TEST((perform_once(p.b, buf, n) == status::not_done));

  // Fewer bytes than offered: the socket was emptied.
  asio::write(p.a, asio::buffer(std::string("hello")));
  wait_readable(p.b, 5);
  BOOST_TEST((perform_once(p.b, buf, n) == status::done_and_exhausted));
  BOOST_TEST(n == 5u);
  BOOST_TEST(buf.substr(0, 5) == "hello");

  // Exactly as many as offered: more may be queued, so the next receive may try at once.
  asio::write(p.a, asio::buffer(std::string(100, 'x')));
  wait_readable(p.b, 100);
  BOOST_TEST((perform_once(p.b, buf, n) == status::done));
  BOOST_TEST(n == 64u);
  BOOST_TEST((perform_once(p.b, buf, n) == status::done_and_exhausted));
  BOOST_TEST(n == 36u);

  // The peer closed: EOF is exhausted too (as Asio has it).
  p.a.close();
  for (int i = 0; i < 1000 && perform_once(p.b, buf, n) == status::not_done; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  BOOST_TEST((perform_once(p.b, buf, n) == status::done_and_exhausted));
  BOOST_TEST(n == 0u);
}

BOOST_AUTO_TEST_CASE(pieces_of_a_sequence_are_all_offered) {
  asio::io_context ioc;
  socket_pair p(ioc);
  std::string first(3, '\0');
  std::string second(4, '\0');
  const std::array<asio::mutable_buffer, 2> pieces{asio::buffer(first), asio::buffer(second)};
  exai::net::drain_aware_buffers seq(pieces);
  BOOST_TEST(asio::buffer_size(seq) == 7u);

  asio::write(p.a, asio::buffer(std::string("abcdefg")));
  wait_readable(p.b, 7);
  p.b.non_blocking(true);
  recv_step op(error_code(), p.b.native_handle(), asio::detail::socket_ops::stream_oriented, seq,
               0, nullptr);
  BOOST_TEST((op.perform() == status::done));  // filled: not known to be empty
  BOOST_TEST(first == "abc");
  BOOST_TEST(second == "defg");
}

// Reads through the layer after short reads: the next read is queued without a try, and must
// still complete for bytes that came in before it was started and for bytes that come later.
BOOST_AUTO_TEST_CASE(reads_after_a_short_read_still_complete) {
  asio::io_context ioc;
  socket_pair p(ioc);
  exai::net::cork_stream<tcp::socket> layer(std::move(p.b));
  std::string got;
  std::string buf(1536, '\0');
  int reads = 0;
  std::function<void()> read_next;
  read_next = [&] {
    layer.async_read_some(asio::buffer(buf), [&](error_code ec, std::size_t n) {
      if (ec) return;
      ++reads;
      got.append(buf.data(), n);
      if (got.size() < 15) read_next();  // the fourth read is started by hand
    });
  };

  // 1: bytes already queued when the first read starts (a short read).
  asio::write(p.a, asio::buffer(std::string("first")));
  wait_readable(layer.next_layer(), 5);
  read_next();
  ioc.run_for(std::chrono::milliseconds(200));
  BOOST_TEST(got == "first");

  // 2: bytes arriving while the next read is queued (after the short read it did not try).
  asio::write(p.a, asio::buffer(std::string("secnd")));
  ioc.restart();
  ioc.run_for(std::chrono::milliseconds(200));
  BOOST_TEST(got == "firstsecnd");

  // 3: bytes arriving from a timer while the io_context runs.
  asio::steady_timer later(ioc, std::chrono::milliseconds(20));
  later.async_wait([&](error_code) { asio::write(p.a, asio::buffer(std::string("third"))); });
  ioc.restart();
  ioc.run_for(std::chrono::milliseconds(500));
  BOOST_TEST(got == "firstsecndthird");
  BOOST_TEST(reads == 3);

  // 4: bytes whose readiness event the reactor takes while no read is pending (the last read
  // was short); the read started afterwards must find them.
  asio::write(p.a, asio::buffer(std::string("forth")));
  asio::steady_timer start(ioc, std::chrono::milliseconds(50));
  start.async_wait([&](error_code) { read_next(); });
  ioc.restart();
  ioc.run_for(std::chrono::milliseconds(500));
  BOOST_TEST(got == "firstsecndthirdforth");
  BOOST_TEST(reads == 4);
}
