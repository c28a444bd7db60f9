// The Beast WebSocket client behind upstream_transport: the pool's only TU that instantiates Beast's
// websocket coroutine operations (toolchain-and-peers.md: ~25 s per such TU at -O0).
#include "gateway/pool/upstream_transport.hpp"

#include "net/cork_stream.hpp"
#include "net/ws_keepalive.hpp"
#include "net/ws_read.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace exai::gateway::pool {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

class beast_transport final : public upstream_transport {
 public:
  explicit beast_transport(asio::any_io_executor ex) : connecting_(ex), resolver_(ex) {}

  asio::awaitable<boost::system::error_code> async_connect(ws_connect_params p) override {
    // One budget for connect and upgrade: tcp_stream's own timer for the TCP connect, then the
    // websocket's handshake timeout (never a raced timer).
    connecting_.expires_after(p.connect_timeout);
    auto [rec, results] = co_await resolver_.async_resolve(p.host, std::to_string(p.port), use_nothrow);
    if (rec) co_return rec;
    auto [cec, ep] = co_await connecting_.async_connect(results, use_nothrow);
    if (cec) co_return cec;
    connecting_.expires_never();
    if (closed_) co_return asio::error::operation_aborted;
    // The websocket sits straight on the socket: after the upgrade its own timer does
    // the idle/ping timeouts, and tcp_stream's per-operation bookkeeping cost every read and write.
    ws_.emplace(std::move(connecting_.socket()));
    auto& ws = *ws_;
    ws.next_layer().next_layer().set_option(tcp::no_delay(true));

    // Beast times the handshakes; pings when idle, and dropping the connection when the daemon
    // goes silent, are net::ws_keepalive's, started once the upgrade is done (no timer
    // re-armed per read).
    websocket::stream_base::timeout t{};
    t.handshake_timeout = p.connect_timeout;
    t.idle_timeout = websocket::stream_base::none();
    t.keep_alive_pings = false;
    ws.set_option(t);
    ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(beast::http::field::user_agent, "exai-gateway");
    }));
    ws.read_message_max(p.read_limit);
    ws.auto_fragment(false);
    // Named locals: g++ 12 mishandles a ?: temporary inside a co_await full-expression.
    const std::string host = p.host + ":" + std::to_string(p.port);
    const std::string target = p.path.empty() ? std::string("/") : p.path;
    auto [hec] = co_await ws.async_handshake(host, target, use_nothrow);
    if (hec) co_return hec;
    ws.text(true);
    keepalive_.start(ws, p.idle_timeout, p.busy_timeout);
    co_return boost::system::error_code{};
  }

  asio::awaitable<boost::system::error_code> async_read(std::string_view& out) override {
    if (!ws_) co_return asio::error::not_connected;
    // Every piece counts: a large message arriving slowly is a daemon at work, not a silent one
    // (the busy timeout would otherwise take a long transfer for a hang).
    auto ec = co_await net::async_read_message(*ws_, buffer_, [this] { keepalive_.note_activity(); });
    if (ec) {
      if (ec == websocket::error::closed) close_code_ = static_cast<std::uint16_t>(ws_->reason().code);
      co_return ec;
    }
    const auto data = buffer_.cdata();
    out = std::string_view(static_cast<const char*>(data.data()), data.size());
    co_return boost::system::error_code{};
  }

  asio::awaitable<boost::system::error_code> async_write(const std::string& text) override {
    if (!ws_) co_return asio::error::not_connected;
    auto [ec, n] = co_await ws_->async_write(asio::buffer(text), use_nothrow);
    co_return ec;
  }

  // One send for the whole batch (net::async_write_corked).
  asio::awaitable<boost::system::error_code> async_write_batch(
      std::span<const std::string> texts) override {
    if (!ws_) co_return asio::error::not_connected;
    co_return co_await net::async_write_corked(*ws_, texts);
  }

  ~beast_transport() override { keepalive_.stop(); }

  void close() noexcept override {
    boost::system::error_code ignored;
    closed_ = true;
    keepalive_.stop();
    resolver_.cancel();
    connecting_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    connecting_.close();
    if (ws_) {
      auto& sock = ws_->next_layer().next_layer();
      sock.shutdown(tcp::socket::shutdown_both, ignored);
      sock.close(ignored);
    }
  }

  std::optional<std::uint16_t> close_code() const noexcept override { return close_code_; }
  void set_busy(bool busy) noexcept override { keepalive_.set_busy(busy); }
  bool timed_out() const noexcept override { return keepalive_.timed_out(); }

 private:
  using layer_type = net::cork_stream<tcp::socket>;
  beast::tcp_stream connecting_;  // until connected; its socket then moves into ws_
  using stream_type = websocket::stream<layer_type>;
  std::optional<stream_type> ws_;
  net::ws_keepalive<stream_type> keepalive_;  // declared after ws_: stopped before it goes
  tcp::resolver resolver_;
  beast::flat_buffer buffer_;
  std::optional<std::uint16_t> close_code_;
  bool closed_ = false;
};

}  // namespace

asio::awaitable<boost::system::error_code> upstream_transport::async_write_batch(
    std::span<const std::string> texts) {
  for (const auto& t : texts) {
    if (auto ec = co_await async_write(t)) co_return ec;
  }
  co_return boost::system::error_code{};
}

std::unique_ptr<upstream_transport> make_beast_transport(asio::any_io_executor ex) {
  return std::make_unique<beast_transport>(std::move(ex));
}

}  // namespace exai::gateway::pool
