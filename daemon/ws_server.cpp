// The Beast WebSocket side of exai-daemon: listener, connection limits, and per connection one
// reader (always pending, so pongs flow) and one writer draining the op_connection's queue.
// The only TU that instantiates Beast's websocket coroutines (compile-time budget).
#include "daemon/ws_server.hpp"

#include "daemon/daemon_metrics.hpp"
#include "net/cork_stream.hpp"
#include "net/take_batch.hpp"
#include "observability/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <functional>
#include <map>
#include <random>
#include <set>
#include <vector>

namespace exai::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
// Replies go out through a corking layer: what queued up while the last write was out is one
// send. Straight on the socket: the websocket's own timer does the timeouts.
using ws_layer = net::cork_stream<tcp::socket>;
using ws_stream = websocket::stream<ws_layer>;
using clock_type = std::chrono::steady_clock;

ws_server_settings make_server_settings(const daemon_config& cfg) {
  ws_server_settings s;
  s.connection.session.token = cfg.token;
  s.connection.session.compat_reference = cfg.compat_reference;
  s.connection.session.max_inflight = cfg.limits.max_inflight;
  s.connection.session.max_message_bytes = cfg.limits.max_message_bytes;
  s.connection.hello_timeout = cfg.timeouts.hello;
  s.connection.call_timeout = cfg.timeouts.call;
  s.connection.progress_interval = cfg.timeouts.progress_interval;
  s.connection.max_queued_bytes = cfg.limits.max_queued_bytes;
  s.max_message_bytes = cfg.limits.max_message_bytes;
  s.max_connections = cfg.limits.max_connections;
  s.max_connections_per_ip = cfg.limits.max_connections_per_ip;
  s.handshake_timeout = cfg.timeouts.handshake;
  s.idle_timeout = cfg.timeouts.idle;
  return s;
}

struct ws_server::impl : std::enable_shared_from_this<impl> {
  impl(asio::any_io_executor e, tool_host& h, ws_server_settings st)
      : ex(e), host(h), s(std::move(st)), acceptor(e), rng(std::random_device{}()) {}

  asio::any_io_executor ex;
  tool_host& host;
  ws_server_settings s;
  tcp::acceptor acceptor;
  bool stopping = false;
  std::size_t sockets = 0;                       // accepted and not yet finished
  std::map<std::string, std::size_t> per_ip;     // accepted sockets by source address
  std::set<std::shared_ptr<op_connection>> conns;
  std::mt19937_64 rng;

  std::string new_session_id() {
    static constexpr char hex[] = "0123456789abcdef";
    std::string id = "s-";
    auto v = rng();
    for (int i = 0; i < 16; ++i, v >>= 4) id += hex[v & 0xf];
    return id;
  }

  std::size_t calls_in_flight() const {
    std::size_t n = 0;
    for (const auto& c : conns) n += c->calls_in_flight();
    return n;
  }
};

namespace {

// Reads message data in chunks and enforces the size limit itself. Beast's own read_message_max
// would fail the connection and tear it down at once (Beast 1.81's teardown closes the socket
// with the rest of the oversized message unread, so the peer sees a reset instead of close
// 1009). Here an oversized message is discarded as it arrives while the writer performs a proper
// close handshake with 1009 (section 1).
asio::awaitable<void> read_loop(ws_stream& ws, std::shared_ptr<op_connection> conn, std::size_t max_bytes) {
  constexpr std::size_t chunk = 1u << 20;
  beast::flat_buffer buf;
  std::size_t message_bytes = 0;
  bool oversize = false;
  for (;;) {
    boost::system::error_code ec;
    const std::size_t n =
        co_await ws.async_read_some(buf, chunk, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      EXAI_LOG(debug, "daemon", "connection read ended", {"peer", conn->peer()}, {"reason", ec.message()});
      break;
    }
    message_bytes += n;
    if (!oversize && message_bytes > max_bytes) {
      oversize = true;
      EXAI_LOG(warn, "daemon", "message over the size limit; closing with 1009", {"peer", conn->peer()},
               {"limit", max_bytes});
      conn->close(close_code::too_big, "message too big");
    }
    if (oversize) buf.consume(buf.size());  // discard while the close handshake runs
    if (!ws.is_message_done()) continue;
    if (!oversize) {
      // Text frames, and binary frames holding JSON (the reference daemon parses both).
      std::string text = beast::buffers_to_string(buf.data());
      buf.consume(buf.size());
      co_await conn->async_deliver(std::move(text));
    }
    message_bytes = 0;
  }
  conn->on_transport_closed();  // wakes the writer, stops running calls
}

// Sends a close frame for `item`.
asio::awaitable<void> write_close(ws_stream& ws, const outgoing& item) {
  websocket::close_reason why;
  why.code = static_cast<websocket::close_code>(*item.close);  // our 40xx codes included
  why.reason = item.reason;
  boost::system::error_code ec;
  co_await ws.async_close(why, asio::redirect_error(asio::use_awaitable, ec));
}

// Writes the queued replies, as many as are ready, in one send (net::async_write_corked: a
// multiplexed connection carries many calls, and one send per reply is a large cost), within
// net::batch_limits. Not net::take_batch: the queue is the connection's, and a close queued
// behind replies must end the batch and go out after it.
asio::awaitable<void> write_loop(ws_stream& ws, std::shared_ptr<op_connection> conn) {
  constexpr net::batch_limits limits{};
  std::vector<std::string> batch;
  for (;;) {
    auto item = co_await conn->async_next_outgoing();
    if (!item) break;
    if (item->close) {
      co_await write_close(ws, *item);
      break;
    }
    // Let the handlers already queued (the rest of what the last read brought in) run first and
    // queue their replies: they go out in this write, not one write each.
    co_await asio::post(ws.get_executor(), asio::use_awaitable);
    batch.clear();
    std::size_t bytes = item->text.size();
    batch.push_back(std::move(item->text));
    std::optional<outgoing> then_close;  // a close queued behind replies goes after them
    while (batch.size() < limits.max_messages && bytes < limits.max_bytes) {
      auto more = conn->try_next_outgoing();
      if (!more) break;
      if (more->close) {
        then_close = std::move(more);
        break;
      }
      bytes += more->text.size();
      batch.push_back(std::move(more->text));
    }
    ws.text(true);
    const auto ec = co_await net::async_write_corked(ws, batch);
    if (ec) {
      // The reader may still be pending on a half-dead socket: end it too.
      boost::system::error_code ignored;
      beast::get_lowest_layer(ws).close(ignored);
      break;
    }
    metrics().bytes_out.inc(bytes);
    if (then_close) {
      co_await write_close(ws, *then_close);
      break;
    }
  }
}

asio::awaitable<void> serve(std::shared_ptr<ws_server::impl> self, tcp::socket sock) {
  using namespace asio::experimental::awaitable_operators;
  boost::system::error_code ec;
  const auto remote = sock.remote_endpoint(ec);
  const std::string ip = ec ? std::string("?") : remote.address().to_string();
  const std::string peer = ec ? ip : ip + ":" + std::to_string(remote.port());
  sock.set_option(tcp::no_delay(true), ec);

  ++self->sockets;
  ++self->per_ip[ip];
  struct release {
    ws_server::impl& s;
    std::string ip;
    ~release() {
      --s.sockets;
      if (--s.per_ip[ip] == 0) s.per_ip.erase(ip);
    }
  } guard{*self, ip};

  ws_stream ws(std::move(sock));
  websocket::stream_base::timeout to{};
  to.handshake_timeout = self->s.handshake_timeout;
  if (self->s.idle_timeout.count() > 0) {
    to.idle_timeout = self->s.idle_timeout;  // a ping goes out after half of it (section 1)
    to.keep_alive_pings = true;
  } else {
    to.idle_timeout = websocket::stream_base::none();
    to.keep_alive_pings = false;
  }
  ws.set_option(to);
  ws.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
    res.set(beast::http::field::server, "exai-daemon/" + std::string(daemon_version()));
  }));
  ws.read_message_max(0);  // enforced in read_loop (see there)
  ws.auto_fragment(false);

  // Any path is accepted (section 1).
  co_await ws.async_accept(asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    EXAI_LOG(debug, "daemon", "WebSocket upgrade failed", {"peer", peer}, {"reason", ec.message()});
    co_return;
  }
  const bool too_many = self->sockets > self->s.max_connections ||
                        (self->s.max_connections_per_ip > 0 && self->per_ip[ip] > self->s.max_connections_per_ip);
  if (self->stopping || too_many) {
    // Section 1: 1008 before any hello; the daemon keeps serving everyone else.
    if (too_many)
      EXAI_LOG(warn, "daemon", "too many connections; closing with 1008", {"peer", peer},
               {"connections", self->sockets}, {"from_ip", self->per_ip[ip]});
    websocket::close_reason why = too_many ? websocket::close_reason(websocket::close_code::policy_error,
                                                                     "too many connections")
                                           : websocket::close_reason(websocket::close_code::going_away,
                                                                     "daemon shutting down");
    co_await ws.async_close(why, asio::redirect_error(asio::use_awaitable, ec));
    co_return;
  }

  // From here every byte begins or continues a frame: reads are served one frame at a time from
  // the layer's own receive buffer, so all the op messages one receive brought in (a burst of
  // cancels behind a burst of calls) are taken in one turn of the event loop, each delivered
  // without waiting behind the provider streams' handlers (net/cork_stream.hpp).
  ws.next_layer().frame_aligned_reads(true);
  auto conn = std::make_shared<op_connection>(self->ex, self->host, self->s.connection, peer,
                                              self->new_session_id());
  self->conns.insert(conn);
  conn->start();
  try {
    co_await (read_loop(ws, conn, self->s.max_message_bytes) && write_loop(ws, conn));
  } catch (const std::exception& e) {
    EXAI_LOG(error, "daemon", "connection failed", {"peer", peer}, {"error", e.what()});
  }
  conn->on_transport_closed();
  self->conns.erase(conn);
}

asio::awaitable<void> accept_loop(std::shared_ptr<ws_server::impl> self) {
  asio::steady_timer pause(self->ex);
  for (;;) {
    boost::system::error_code ec;
    tcp::socket sock = co_await self->acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (self->stopping || ec == asio::error::operation_aborted || !self->acceptor.is_open()) break;
    if (ec) {
      // Out of descriptors and the like: keep serving the existing connections, retry shortly.
      EXAI_LOG(warn, "daemon", "accept failed", {"reason", ec.message()});
      pause.expires_after(std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    asio::co_spawn(self->ex, serve(self, std::move(sock)), asio::detached);
  }
}

// Polls `done` every 10 ms until it holds or `deadline` passes (shutdown only, so polling is fine).
asio::awaitable<bool> wait_for(asio::steady_timer& tick, clock_type::time_point deadline,
                               std::function<bool()> done) {
  while (!done() && clock_type::now() < deadline) {
    tick.expires_after(std::chrono::milliseconds(10));
    boost::system::error_code ec;
    co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return done();
}

}  // namespace

ws_server::ws_server(asio::any_io_executor ex, tool_host& host, ws_server_settings s)
    : impl_(std::make_shared<impl>(ex, host, std::move(s))) {}

ws_server::~ws_server() {
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
}

boost::system::error_code ws_server::listen(const std::string& host, std::uint16_t port) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) {
    // A host name ("localhost"): resolved once, here.
    tcp::resolver resolver(impl_->ex);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty()) return ec ? ec : asio::error::host_not_found;
    addr = results.begin()->endpoint().address();
  }
  tcp::endpoint ep(addr, port);
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (ec) return ec;
  a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (ec) return ec;
  a.bind(ep, ec);
  if (ec) {
    boost::system::error_code ignored;
    a.close(ignored);
    return ec;
  }
  a.listen(asio::socket_base::max_listen_connections, ec);
  return ec;
}

std::string ws_server::local_endpoint() const {
  boost::system::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  if (ec) return {};
  auto a = ep.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(ep.port());
}

void ws_server::start() { asio::co_spawn(impl_->ex, accept_loop(impl_), asio::detached); }

std::size_t ws_server::connections() const { return impl_->conns.size(); }
std::size_t ws_server::calls_in_flight() const { return impl_->calls_in_flight(); }

asio::awaitable<void> ws_server::async_shutdown(std::chrono::milliseconds grace) {
  auto self = impl_;
  self->stopping = true;
  boost::system::error_code ec;
  self->acceptor.close(ec);
  for (const auto& c : self->conns) c->begin_shutdown();

  asio::steady_timer tick(self->ex);
  const std::function<bool()> calls_done = [self] { return self->calls_in_flight() == 0; };
  const std::function<bool()> all_gone = [self] { return self->sockets == 0; };

  EXAI_LOG(info, "daemon", "shutting down: waiting for calls in flight",
           {"calls", self->calls_in_flight()}, {"grace_ms", static_cast<std::int64_t>(grace.count())});
  if (!co_await wait_for(tick, clock_type::now() + grace, calls_done)) {
    EXAI_LOG(warn, "daemon", "grace period over: cancelling calls", {"calls", self->calls_in_flight()});
    for (const auto& c : self->conns) c->cancel_calls();
    co_await wait_for(tick, clock_type::now() + std::chrono::seconds(2), calls_done);
  }
  for (const auto& c : self->conns) c->close(close_code::going_away, "daemon shutting down");
  co_await wait_for(tick, clock_type::now() + self->s.handshake_timeout + std::chrono::seconds(1), all_gone);
}

}  // namespace exai::daemon
