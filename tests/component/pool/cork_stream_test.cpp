// Component tests for net::cork_stream (issue 7): the corking layer on beast::test::stream, alone
// and under websocket::stream, on one io_context driven by poll() (no sockets, no sleeps, no
// blocking: a pending read on a test stream keeps work outstanding, so run() would not return).
#define BOOST_TEST_MODULE pool_cork_stream_component
#include <boost/test/unit_test.hpp>

#include "net/cork_stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/_experimental/test/error.hpp>
#include <boost/beast/_experimental/test/fail_count.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <algorithm>
#include <cstddef>
#include <exception>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace tt = boost::test_tools;
using boost::system::error_code;
using test_stream = beast::test::stream;
using corked = exai::net::cork_stream<test_stream>;
using role = beast::role_type;

// What beast::test::fail_count injects, as an error_code so that Boost.Test can print it.
const error_code test_failure = beast::test::error::test_failure;

// Runs every ready handler (and what they post) without ever blocking.
void drain(asio::io_context& ioc) {
  ioc.restart();
  ioc.poll();
}

struct write_result {
  bool done = false;
  error_code ec;
  std::size_t n = 0;
};

// One async_write_some on the layer itself, as websocket::stream's writes reach it.
void start_write(corked& s, const std::string& data, write_result& r) {
  s.async_write_some(asio::buffer(data), [&r](error_code ec, std::size_t n) {
    r.done = true;
    r.ec = ec;
    r.n = n;
  });
}

// Reads what has arrived on a raw test stream (and nothing more: an async read, then poll).
struct raw_read {
  bool done = false;
  error_code ec;
  std::string data;
};
void read_some_now(asio::io_context& ioc, test_stream& s, raw_read& r) {
  r = {};
  auto buf = std::make_shared<std::string>(1024, '\0');
  s.async_read_some(asio::buffer(*buf), [&r, buf](error_code ec, std::size_t n) {
    r.done = true;
    r.ec = ec;
    r.data.assign(buf->data(), n);
  });
  drain(ioc);
}

// ---------------------------------------------------------------------------------------------
// The layer alone: cork_stream<test::stream> connected to a plain test::stream peer.

struct raw_pair {
  asio::io_context ioc;
  beast::test::fail_count fc;
  corked a;
  test_stream b;
  explicit raw_pair(std::size_t fail_at = std::numeric_limits<std::size_t>::max())
      : fc(fail_at), a(ioc, fc), b(ioc) {
    a.next_layer().connect(b);
  }
  std::size_t writes() const { return a.next_layer().nwrite(); }  // on the next layer
  std::string at_peer() const { return std::string(b.str()); }
  // Corks the layer and writes `data` into it (held, nothing sent); the write's result lives as
  // long as the pair, which its completion handler writes to.
  const write_result& hold(const std::string& data) {
    a.cork();
    start_write(a, data, held);
    drain(ioc);
    return held;
  }
  write_result held;
};

BOOST_AUTO_TEST_CASE(uncorked_writes_pass_straight_through) {
  raw_pair p;
  const std::string one = "hello ", two = "world";
  write_result r1, r2;
  start_write(p.a, one, r1);
  drain(p.ioc);
  BOOST_TEST(r1.done);
  BOOST_TEST(!r1.ec);
  BOOST_TEST(r1.n == one.size());
  BOOST_TEST(p.at_peer() == one);
  BOOST_TEST(p.writes() == 1u);

  start_write(p.a, two, r2);
  drain(p.ioc);
  BOOST_TEST(r2.done);
  BOOST_TEST(r2.n == two.size());
  BOOST_TEST(p.at_peer() == one + two);
  BOOST_TEST(p.writes() == 2u);
  BOOST_TEST(p.a.pending_bytes() == 0u);
}

BOOST_AUTO_TEST_CASE(corked_writes_are_held_then_flushed_in_order_as_one_write) {
  raw_pair p;
  const std::vector<std::string> held = {"a1", "b22", "c333"};
  const std::string last = "d4444";
  p.a.cork();
  BOOST_TEST(p.a.corked());
  std::vector<write_result> rs(held.size());
  std::size_t held_bytes = 0;
  for (std::size_t i = 0; i < held.size(); ++i) {
    start_write(p.a, held[i], rs[i]);
    // The design completes corked writes through the executor, never inside the initiation.
    BOOST_TEST(!rs[i].done);
    drain(p.ioc);
    BOOST_TEST(rs[i].done);
    BOOST_TEST(!rs[i].ec);
    BOOST_TEST(rs[i].n == held[i].size());
    held_bytes += held[i].size();
    BOOST_TEST(p.a.pending_bytes() == held_bytes);
  }
  BOOST_TEST(p.at_peer().empty());
  BOOST_TEST(p.writes() == 0u);

  p.a.uncork();
  write_result rl;
  start_write(p.a, last, rl);
  drain(p.ioc);
  BOOST_TEST(rl.done);
  BOOST_TEST(!rl.ec);
  BOOST_TEST(rl.n == last.size());  // the caller's own bytes, not the flushed ones
  BOOST_TEST(p.at_peer() == "a1b22c333d4444");
  BOOST_TEST(p.writes() == 1u);
  BOOST_TEST(p.a.pending_bytes() == 0u);

  // Afterwards the layer is back to pass-through.
  write_result rn;
  const std::string next = "e";
  start_write(p.a, next, rn);
  drain(p.ioc);
  BOOST_TEST(p.at_peer() == "a1b22c333d4444e");
  BOOST_TEST(p.writes() == 2u);
}

BOOST_AUTO_TEST_CASE(flush_completes_across_short_writes_of_the_next_layer) {
  raw_pair p;
  p.a.next_layer().write_size(3);  // the next layer takes at most 3 bytes per write_some
  const std::string x = "0123456789", y = "abcdefg", z = "XYZ!";
  p.a.cork();
  write_result rx, ry, rz;
  start_write(p.a, x, rx);
  start_write(p.a, y, ry);  // websocket::stream would wait for rx; the layer only needs order
  drain(p.ioc);
  BOOST_TEST((rx.done && ry.done));
  p.a.uncork();
  start_write(p.a, z, rz);
  drain(p.ioc);
  BOOST_TEST(rz.done);
  BOOST_TEST(!rz.ec);
  BOOST_TEST(rz.n == z.size());
  BOOST_TEST(p.at_peer() == x + y + z);
  BOOST_TEST(p.writes() == (x.size() + y.size() + z.size() + 2) / 3);
  BOOST_TEST(p.a.pending_bytes() == 0u);
}

BOOST_AUTO_TEST_CASE(async_teardown_sends_held_bytes_before_closing) {
  raw_pair p;
  const std::string data = "held until teardown";
  p.hold(data);
  BOOST_TEST(p.at_peer().empty());

  bool done = false;
  error_code td_ec;
  async_teardown(role::server, p.a, [&](error_code ec) {
    done = true;
    td_ec = ec;
  });
  drain(p.ioc);
  BOOST_TEST(done);
  BOOST_TEST(!td_ec);
  BOOST_TEST(!p.a.corked());
  BOOST_TEST(p.a.pending_bytes() == 0u);

  raw_read rr;
  read_some_now(p.ioc, p.b, rr);
  BOOST_TEST(rr.done);
  BOOST_TEST(rr.data == data);
  read_some_now(p.ioc, p.b, rr);  // then the connection is gone
  BOOST_TEST(rr.done);
  BOOST_TEST(rr.ec == asio::error::eof);
}

BOOST_AUTO_TEST_CASE(sync_teardown_and_sync_write_send_held_bytes_first) {
  {
    raw_pair p;
    const std::string data = "close me";
    p.hold(data);
    error_code ec;
    teardown(role::client, p.a, ec);
    BOOST_TEST(!ec);
    BOOST_TEST(p.at_peer() == data);
    BOOST_TEST(p.a.pending_bytes() == 0u);
  }
  {
    raw_pair p;
    const std::string held = "ab", now = "cd";
    p.hold(held);
    error_code ec;
    const std::size_t n = p.a.write_some(asio::buffer(now), ec);
    BOOST_TEST(!ec);
    BOOST_TEST(n == now.size());
    BOOST_TEST(p.at_peer() == "abcd");
  }
}

BOOST_AUTO_TEST_CASE(a_failed_flush_reports_the_error_and_nothing_sent) {
  raw_pair p(1);  // the first operation on the next layer fails
  const std::string x1 = "x1", x2 = "x2", x3 = "x3";
  p.a.cork();
  write_result r1, r2, r3;
  start_write(p.a, x1, r1);
  drain(p.ioc);
  start_write(p.a, x2, r2);
  drain(p.ioc);
  // Held writes never touch the next layer, so they cannot fail there.
  BOOST_TEST((r1.done && !r1.ec && r2.done && !r2.ec));
  BOOST_TEST(p.writes() == 0u);
  p.a.uncork();
  start_write(p.a, x3, r3);
  drain(p.ioc);
  BOOST_TEST(r3.done);
  BOOST_TEST(r3.ec == test_failure);
  BOOST_TEST(r3.n == 0u);
  BOOST_TEST(p.at_peer().empty());
  BOOST_TEST(p.writes() == 1u);
  BOOST_TEST(p.a.pending_bytes() == 0u);  // not kept for a resend on a dead stream
}

BOOST_AUTO_TEST_CASE(a_failed_pass_through_write_reports_the_error) {
  raw_pair p(1);
  const std::string y = "y";
  write_result r;
  start_write(p.a, y, r);
  drain(p.ioc);
  BOOST_TEST(r.done);
  BOOST_TEST(r.ec == test_failure);
  BOOST_TEST(r.n == 0u);
  BOOST_TEST(p.at_peer().empty());
}

BOOST_AUTO_TEST_CASE(a_flush_failing_midway_reports_zero_bytes_for_the_caller) {
  raw_pair p(2);  // the second write_some of the flush fails
  p.a.next_layer().write_size(4);
  const std::string a4 = "aaaa", b4 = "bbbb", c4 = "cccc";
  p.a.cork();
  write_result ra, rb, rc;
  start_write(p.a, a4, ra);
  drain(p.ioc);
  start_write(p.a, b4, rb);
  drain(p.ioc);
  p.a.uncork();
  start_write(p.a, c4, rc);
  drain(p.ioc);
  BOOST_TEST(rc.done);
  BOOST_TEST(rc.ec == test_failure);
  BOOST_TEST(rc.n == 0u);
  BOOST_TEST(p.at_peer() == a4);  // what the next layer took before failing, nothing invented
  BOOST_TEST(p.writes() == 2u);
  BOOST_TEST(p.a.pending_bytes() == 0u);
}

// ---------------------------------------------------------------------------------------------
// Under websocket::stream: `a` (the corking side) against a plain Beast peer `b`.

template <class Stream>
asio::awaitable<void> async_record(websocket::stream<Stream>& ws, std::vector<std::string>& log) {
  beast::flat_buffer buf;
  for (;;) {
    auto [ec, n] = co_await ws.async_read(buf, asio::as_tuple(asio::use_awaitable));
    if (ec == websocket::error::closed) {
      log.push_back("closed:" + std::to_string(ws.reason().code));
      co_return;
    }
    if (ec) {
      log.push_back("error:" + ec.message());
      co_return;
    }
    log.push_back("msg:" + beast::buffers_to_string(buf.data()));
    buf.consume(buf.size());
  }
}

struct batch_result {
  bool done = false;
  error_code ec;
  std::size_t accepted = 0;  // messages whose write completed without error
};

// The transports' batch write, as written in gateway/ws_listener.cpp (async_write_messages) and
// gateway/pool/upstream_transport.cpp (async_write_batch): all but the last message corked, the last
// uncorked, the cork lifted on every exit. `after_each(i)` lets a test act between messages.
asio::awaitable<batch_result> async_write_batch(websocket::stream<corked>& ws,
                                                const std::vector<std::string>& texts,
                                                std::function<void(std::size_t)> after_each) {
  batch_result r;
  if (texts.empty()) co_return r;
  auto& layer = ws.next_layer();
  struct uncork_on_exit {
    corked& l;
    ~uncork_on_exit() { l.uncork(); }
  } guard{layer};
  layer.cork();
  for (std::size_t i = 0; i + 1 < texts.size(); ++i) {
    auto [ec, n] =
        co_await ws.async_write(asio::buffer(texts[i]), asio::as_tuple(asio::use_awaitable));
    if (ec) {
      r.ec = ec;
      co_return r;
    }
    ++r.accepted;
    if (after_each) after_each(i);
  }
  layer.uncork();
  auto [ec, n] =
      co_await ws.async_write(asio::buffer(texts.back()), asio::as_tuple(asio::use_awaitable));
  r.ec = ec;
  if (!ec) ++r.accepted;
  co_return r;
}

struct ws_pair {
  asio::io_context ioc;
  beast::test::fail_count fc;
  websocket::stream<corked> a;
  websocket::stream<test_stream> b;
  std::vector<std::string> a_log, b_log;

  explicit ws_pair(role a_role,
                   std::size_t fail_at = std::numeric_limits<std::size_t>::max())
      : fc(fail_at), a(ioc, fc), b(ioc) {
    raw_a().connect(b.next_layer());
    b.control_callback([this](websocket::frame_type kind, beast::string_view payload) {
      if (kind == websocket::frame_type::pong) b_log.push_back("pong:" + std::string(payload));
    });
    error_code a_ec, b_ec;
    bool a_done = false, b_done = false;
    auto on_a = [&](error_code ec) { a_done = true; a_ec = ec; };
    auto on_b = [&](error_code ec) { b_done = true; b_ec = ec; };
    if (a_role == role::server) {
      a.async_accept(on_a);
      b.async_handshake("localhost", "/", on_b);
    } else {
      b.async_accept(on_b);
      a.async_handshake("localhost", "/", on_a);
    }
    drain(ioc);
    BOOST_REQUIRE(a_done);
    BOOST_REQUIRE(b_done);
    BOOST_REQUIRE_MESSAGE(!a_ec, a_ec.message());
    BOOST_REQUIRE_MESSAGE(!b_ec, b_ec.message());
  }
  ws_pair(const ws_pair&) = delete;
  ws_pair& operator=(const ws_pair&) = delete;

  // Ends both read loops before the members they refer to go away.
  ~ws_pair() {
    b.next_layer().close();
    raw_a().close();
    drain(ioc);
  }

  test_stream& raw_a() { return a.next_layer().next_layer(); }
  corked& layer() { return a.next_layer(); }
  std::size_t writes_by_a() { return raw_a().nwrite(); }
  std::size_t ops_on_a() { return raw_a().nwrite() + raw_a().nread(); }
  std::size_t bytes_at_b() { return b.next_layer().nwrite_bytes(); }

  void start_readers(bool reader_on_a = true) {
    if (reader_on_a) asio::co_spawn(ioc, async_record(a, a_log), asio::detached);
    asio::co_spawn(ioc, async_record(b, b_log), asio::detached);
  }

  void start_batch(const std::vector<std::string>& texts, batch_result& r,
                   std::function<void(std::size_t)> after_each = {}) {
    asio::co_spawn(ioc, async_write_batch(a, texts, std::move(after_each)),
                   [&r](std::exception_ptr e, batch_result got) {
                     if (e) std::rethrow_exception(e);
                     r = got;
                     r.done = true;
                   });
  }

  void write_a(const std::string& text, write_result& r) {
    a.async_write(asio::buffer(text), [&r](error_code ec, std::size_t n) {
      r.done = true;
      r.ec = ec;
      r.n = n;
    });
  }
};

std::vector<std::string> as_messages(const std::vector<std::string>& texts) {
  std::vector<std::string> out;
  for (const auto& t : texts) out.push_back("msg:" + t);
  return out;
}

const char* role_name(role r) { return r == role::server ? "server" : "client"; }

BOOST_AUTO_TEST_CASE(a_batch_arrives_as_separate_intact_messages_in_one_write) {
  // A message larger than Beast's write buffer is written as several frames (server role) or
  // several masked chunks (client role): each goes through the layer while corked.
  std::string big(10000, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  const std::vector<std::string> texts = {"first", "", big, R"({"jsonrpc":"2.0","id":3})",
                                          "last"};
  for (role a_role : {role::server, role::client}) {
    BOOST_TEST_CONTEXT("corking side is the " << role_name(a_role)) {
      ws_pair p(a_role);
      p.start_readers(false);
      drain(p.ioc);
      const std::size_t writes0 = p.writes_by_a(), bytes0 = p.bytes_at_b();
      std::vector<std::size_t> peer_bytes_between;
      std::vector<std::size_t> held_between;
      batch_result r;
      p.start_batch(texts, r, [&](std::size_t) {
        peer_bytes_between.push_back(p.bytes_at_b() - bytes0);
        held_between.push_back(p.layer().pending_bytes());
      });
      drain(p.ioc);
      BOOST_TEST(r.done);
      BOOST_TEST(!r.ec);
      BOOST_TEST(r.accepted == texts.size());
      BOOST_TEST(p.b_log == as_messages(texts), tt::per_element());
      BOOST_TEST(p.writes_by_a() - writes0 == 1u);
      BOOST_TEST(peer_bytes_between == std::vector<std::size_t>(texts.size() - 1, 0),
                 tt::per_element());
      BOOST_TEST(std::is_sorted(held_between.begin(), held_between.end()));
      BOOST_TEST(held_between.back() > big.size());
      BOOST_TEST(!p.layer().corked());
      BOOST_TEST(p.layer().pending_bytes() == 0u);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_pong_made_while_corked_is_held_and_sent_in_order) {
  const std::string m1 = "before the ping", m2 = "after the ping";
  for (role a_role : {role::server, role::client}) {
    BOOST_TEST_CONTEXT("corking side is the " << role_name(a_role)) {
      ws_pair p(a_role);
      p.start_readers();
      drain(p.ioc);
      const std::size_t writes0 = p.writes_by_a(), bytes0 = p.bytes_at_b();

      p.layer().cork();
      write_result r1;
      p.write_a(m1, r1);
      drain(p.ioc);
      BOOST_TEST((r1.done && !r1.ec));
      const std::size_t held_m1 = p.layer().pending_bytes();
      BOOST_TEST(held_m1 > m1.size());

      bool pinged = false;
      p.b.async_ping("p1", [&](error_code ec) { pinged = !ec; });
      drain(p.ioc);
      BOOST_TEST(pinged);
      // a's reader answered: the pong (2-byte payload; a 4-byte mask key from a client) is held.
      const std::size_t pong_size = a_role == role::server ? 4 : 8;
      BOOST_TEST(p.layer().pending_bytes() == held_m1 + pong_size);
      BOOST_TEST(p.bytes_at_b() == bytes0);
      BOOST_TEST(p.b_log.empty());

      p.layer().uncork();
      write_result r2;
      p.write_a(m2, r2);
      drain(p.ioc);
      BOOST_TEST((r2.done && !r2.ec));
      const std::vector<std::string> expected = {"msg:" + m1, "pong:p1", "msg:" + m2};
      BOOST_TEST(p.b_log == expected, tt::per_element());
      BOOST_TEST(p.writes_by_a() - writes0 == 1u);
      BOOST_TEST(p.layer().pending_bytes() == 0u);
      BOOST_TEST(p.a_log.empty());  // a's reader is still waiting, no error seen
    }
  }
}

BOOST_AUTO_TEST_CASE(a_ping_during_a_batch_is_answered_and_data_order_is_exact) {
  const std::vector<std::string> texts = {"m0", "m1", "m2", "m3", "m4"};
  for (std::size_t ping_after : {0u, 2u}) {
    BOOST_TEST_CONTEXT("ping sent after message " << ping_after) {
      ws_pair p(role::server);
      p.start_readers();
      drain(p.ioc);
      bool pinged = false;
      batch_result r;
      p.start_batch(texts, r, [&](std::size_t i) {
        if (i == ping_after) p.b.async_ping("hb", [&](error_code ec) { pinged = !ec; });
      });
      drain(p.ioc);
      BOOST_TEST(pinged);
      BOOST_TEST(r.done);
      BOOST_TEST(!r.ec);
      BOOST_TEST(r.accepted == texts.size());
      std::vector<std::string> data;
      std::size_t pongs = 0;
      for (const auto& e : p.b_log) {
        if (e == "pong:hb") {
          ++pongs;
        } else {
          data.push_back(e);
        }
      }
      BOOST_TEST(pongs == 1u);
      BOOST_TEST(data == as_messages(texts), tt::per_element());
      BOOST_TEST(!p.layer().corked());
      BOOST_TEST(p.layer().pending_bytes() == 0u);
      BOOST_TEST_MESSAGE("peer saw: " << [&] {
        std::string s;
        for (const auto& e : p.b_log) s += e + " ";
        return s;
      }());
    }
  }
}

// A close frame from a client (mask bit set, zero key: the payload is unchanged), code 1000.
const std::string masked_close_1000 = std::string("\x88\x82\0\0\0\0\x03\xe8", 8);

BOOST_AUTO_TEST_CASE(a_peer_close_in_a_corked_section_flushes_held_messages_first) {
  ws_pair p(role::server);
  p.start_readers();
  drain(p.ioc);
  const std::string m1 = "held when the close arrives", m2 = "too late";

  p.layer().cork();
  write_result r1;
  p.write_a(m1, r1);
  drain(p.ioc);
  BOOST_TEST((r1.done && !r1.ec));
  BOOST_TEST(p.b_log.empty());

  // The close reaches a's reader mid-section: Beast answers it and tears the stream down; the
  // layer must send m1, then the close reply, before the transport shuts.
  error_code ec;
  p.b.next_layer().write_some(asio::buffer(masked_close_1000), ec);
  BOOST_REQUIRE(!ec);
  drain(p.ioc);
  const std::vector<std::string> a_expected = {"closed:1000"};
  BOOST_TEST(p.a_log == a_expected, tt::per_element());
  const std::vector<std::string> b_expected = {"msg:" + m1, "closed:1000"};
  BOOST_TEST(p.b_log == b_expected, tt::per_element());
  BOOST_TEST(!p.layer().corked());
  BOOST_TEST(p.layer().pending_bytes() == 0u);

  // The rest of the batch fails, and nothing of it reaches the peer.
  const std::size_t bytes_after_close = p.bytes_at_b();
  write_result r2;
  p.write_a(m2, r2);
  drain(p.ioc);
  BOOST_TEST(r2.done);
  BOOST_TEST(r2.ec);
  BOOST_TEST(p.bytes_at_b() == bytes_after_close);
}

BOOST_AUTO_TEST_CASE(a_batch_cut_by_a_peer_close_delivers_exactly_what_it_accepted) {
  const std::vector<std::string> texts = {"c0", "c1", "c2", "c3", "c4"};
  for (std::size_t close_after : {0u, 1u, 3u}) {
    BOOST_TEST_CONTEXT("close sent after message " << close_after) {
      ws_pair p(role::server);
      p.start_readers();
      drain(p.ioc);
      batch_result r;
      p.start_batch(texts, r, [&](std::size_t i) {
        if (i != close_after) return;
        error_code ec;
        p.b.next_layer().write_some(asio::buffer(masked_close_1000), ec);
        BOOST_TEST(!ec);
      });
      drain(p.ioc);
      BOOST_TEST(r.done);
      BOOST_TEST(r.accepted > close_after);
      // Everything the writer was told went out arrives, in order, before the close; nothing
      // it was told failed arrives at all.
      std::vector<std::string> expected(texts.begin(),
                                        texts.begin() + static_cast<std::ptrdiff_t>(r.accepted));
      expected = as_messages(expected);
      expected.push_back("closed:1000");
      BOOST_TEST(p.b_log == expected, tt::per_element());
      BOOST_TEST(bool(r.ec) == (r.accepted < texts.size()));
      BOOST_TEST(!p.layer().corked());
      BOOST_TEST(p.layer().pending_bytes() == 0u);
      BOOST_TEST_MESSAGE("accepted " << r.accepted << " of " << texts.size()
                                     << ", batch result: " << r.ec.message());
    }
  }
}

BOOST_AUTO_TEST_CASE(a_next_layer_failing_at_the_flush_fails_the_batch) {
  // Count the operations the handshake makes on a's test stream, then fail the first after it.
  std::size_t handshake_ops = 0;
  {
    ws_pair probe(role::server);
    handshake_ops = probe.ops_on_a();
  }
  BOOST_REQUIRE(handshake_ops > 0u);
  ws_pair p(role::server, handshake_ops + 1);
  p.start_readers(false);
  drain(p.ioc);
  const std::size_t bytes0 = p.bytes_at_b();
  const std::vector<std::string> texts = {"f0", "f1", "f2"};
  batch_result r;
  p.start_batch(texts, r);
  drain(p.ioc);
  BOOST_TEST(r.done);
  BOOST_TEST(r.ec == test_failure);
  BOOST_TEST(p.b_log.empty());
  BOOST_TEST(p.bytes_at_b() == bytes0);
  BOOST_TEST(!p.layer().corked());
  BOOST_TEST(p.layer().pending_bytes() == 0u);

  // The stream is finished: a later write fails too and sends nothing.
  write_result r2;
  const std::string after = "after";
  p.write_a(after, r2);
  drain(p.ioc);
  BOOST_TEST(r2.done);
  BOOST_TEST(r2.ec);
  BOOST_TEST(p.bytes_at_b() == bytes0);
}

}  // namespace
