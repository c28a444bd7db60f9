// The WebSocket listener and transport (gateway/ws_listener.hpp): the only translation unit of
// exai_gateway_lib that instantiates Beast's websocket and HTTP operations (house-style 16).
#include "gateway/ws_listener.hpp"

#include "codecs/error.hpp"
#include "gateway/http/connection.hpp"
#include "net/cork_stream.hpp"
#include "net/ws_keepalive.hpp"
#include "net/ws_read.hpp"
#include "observability/log.hpp"
#include "routes/auth.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>

namespace exai::gateway {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

constexpr std::size_t max_upgrade_header_bytes = 16 * 1024;

// as_tuple rather than redirect_error with Beast's operations: with g++ 12 and UBSan,
// redirect_error around websocket::stream::async_write reads an uninitialised bool in the
// coroutine frame (seen as "load of value 144 ... type 'bool'"); as_tuple does not.
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Frames to one client go out through a corking layer: a batch of replies is one send. Straight
// on the socket, not beast::tcp_stream: after the upgrade the websocket's own timer does the
// timeouts, and tcp_stream's per-operation bookkeeping was a cost on every read and write.
using ws_layer = net::cork_stream<tcp::socket>;
using ws_stream = websocket::stream<ws_layer>;

// Counts open upgraded connections (shared by the listener and its transports).
struct connection_count {
  std::atomic<std::size_t> open{0};
};

class ws_connection final : public message_transport {
 public:
  ws_connection(ws_stream ws, std::shared_ptr<connection_count> count,
               std::chrono::milliseconds idle_timeout)
      : ws_(std::move(ws)), count_(std::move(count)) {
    keepalive_.start(ws_, idle_timeout);
  }
  ~ws_connection() override {
    keepalive_.stop();
    count_->open.fetch_sub(1, std::memory_order_relaxed);
  }

  asio::any_io_executor get_executor() override { return ws_.get_executor(); }

  asio::awaitable<error_code> async_read_message(std::string_view& out) override {
    auto ec = co_await net::async_read_message(ws_, buffer_, [this] { keepalive_.note_activity(); });
    if (ec) co_return ec;  // message_too_big: Beast has already closed with 1009
    const auto data = buffer_.cdata();
    out = std::string_view(static_cast<const char*>(data.data()), data.size());
    co_return error_code();
  }

  asio::awaitable<error_code> async_write_message(std::string_view message) override {
    auto [ec, n] =
        co_await ws_.async_write(asio::buffer(message.data(), message.size()), tuple_awaitable);
    co_return ec;
  }

  // One send for the whole batch (net::async_write_corked).
  asio::awaitable<error_code> async_write_messages(std::span<const std::string> messages) override {
    co_return co_await net::async_write_corked(ws_, messages);
  }

  asio::awaitable<void> async_close(close_code code) override {
    if (!ws_.is_open()) co_return;
    websocket::close_reason reason(static_cast<std::uint16_t>(code));
    auto [ec] = co_await ws_.async_close(reason, tuple_awaitable);
    (void)ec;  // the peer may be gone already; nothing left to do either way
  }

  std::string_view kind() const noexcept override { return "ws"; }

 private:
  ws_stream ws_;
  beast::flat_buffer buffer_;
  std::shared_ptr<connection_count> count_;
  net::ws_keepalive<ws_stream> keepalive_;
};

}  // namespace

// message_transport's default (transport.hpp): one write per message, for transports that have
// nothing better (memory; stdio when its output is a blocking file or terminal).
asio::awaitable<error_code> message_transport::async_write_messages(
    std::span<const std::string> messages) {
  for (const auto& m : messages) {
    if (auto ec = co_await async_write_message(m)) co_return ec;
  }
  co_return error_code();
}

bool offers_subprotocol(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    auto comma = header.find(',');
    if (trim(header.substr(0, comma)) == name) return true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

bool origin_allowed(std::string_view origin, const std::vector<std::string>& extra) {
  if (origin.empty()) return true;  // not a browser: the Origin check is a browser defence
  const std::string o = lower(origin);
  for (const auto& e : extra) {
    if (lower(e) == o) return true;
  }
  std::string_view rest = o;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
  } else {
    return false;
  }
  std::string_view host = rest;
  std::string_view port;
  if (rest.starts_with("[")) {
    auto close = rest.find(']');
    if (close == std::string_view::npos) return false;
    host = rest.substr(0, close + 1);
    port = rest.substr(close + 1);
  } else if (auto colon = rest.find(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon);
  }
  if (!port.empty()) {
    if (port.size() < 2 || port.front() != ':') return false;
    for (char c : port.substr(1)) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    }
  }
  return host == "localhost" || host == "127.0.0.1" || host == "[::1]";
}

struct ws_listener::impl : std::enable_shared_from_this<ws_listener::impl> {
  impl(asio::any_io_executor e, ws_listener_options o, connection_handler h)
      : ex(e), opts(std::move(o)), handler(std::move(h)), acceptor(e) {}

  asio::any_io_executor ex;
  ws_listener_options opts;
  connection_handler handler;
  tcp::acceptor acceptor;
  std::shared_ptr<connection_count> count = std::make_shared<connection_count>();
  bool stopped = false;

  static asio::awaitable<void> accept_loop(std::shared_ptr<impl> self) {
    for (;;) {
      auto [ec, socket] = co_await self->acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (self->stopped || !self->acceptor.is_open()) break;
      if (ec) {
        // EMFILE and friends: log, pause briefly, go on (never busy-loop on a failing accept).
        EXAI_LOG(warn, "ws", "accept failed", {"error", ec.message()});
        asio::steady_timer pause(self->ex, std::chrono::milliseconds(100));
        co_await pause.async_wait(tuple_awaitable);
        continue;
      }
      asio::co_spawn(self->ex, upgrade(self, std::move(socket)), asio::detached);
    }
  }

  // Answers a refused upgrade with a plain HTTP status and closes.
  static asio::awaitable<void> refuse(beast::tcp_stream& stream, bhttp::status status,
                                      unsigned version, std::string body, bool bearer = false) {
    bhttp::response<bhttp::string_body> res{status, version};
    res.set(bhttp::field::server, "exai-gateway");
    res.set(bhttp::field::content_type, "text/plain; charset=utf-8");
    if (bearer) res.set(bhttp::field::www_authenticate, "Bearer");
    res.keep_alive(false);
    res.body() = std::move(body);
    res.prepare_payload();
    auto [ec, n] = co_await bhttp::async_write(stream, res, tuple_awaitable);
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream.close();
  }

  static asio::awaitable<void> upgrade(std::shared_ptr<impl> self, tcp::socket socket) {
    const auto& limits = self->opts.limits;
    error_code ec;
    socket.set_option(tcp::no_delay(true), ec);  // one small JSON message per frame
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    auto parser = std::make_unique<bhttp::request_parser<bhttp::string_body>>();
    parser->header_limit(max_upgrade_header_bytes);
    // The head alone first: a plain HTTP request's body is the MCP server's to read and limit.
    parser->body_limit(boost::none);
    stream.expires_after(limits.handshake_timeout);
    auto [read_ec, read_n] =
        co_await bhttp::async_read_header(stream, buffer, *parser, tuple_awaitable);
    if (read_ec) co_return;  // timeouts, garbage, a port scan: nothing to answer

    if (!websocket::is_upgrade(parser->get())) {
      if (self->opts.http) {
        gateway::http::serve(self->opts.http->get_impl(), std::move(stream), std::move(buffer),
                             std::move(parser));
        co_return;
      }
      co_await refuse(stream, bhttp::status::upgrade_required, parser->get().version(),
                      "exai-gateway: this port serves MCP and the op protocol over WebSocket\n");
      co_return;
    }
    if (!parser->is_done()) {
      parser->body_limit(4096);
      auto [body_ec, body_n] = co_await bhttp::async_read(stream, buffer, *parser, tuple_awaitable);
      if (body_ec) co_return;
    }
    auto req = parser->release();
    const auto origin = req[bhttp::field::origin];
    if (!origin_allowed(std::string_view(origin.data(), origin.size()), limits.allowed_origins)) {
      EXAI_LOG(info, "ws", "upgrade refused: origin not allowed",
               {"origin", std::string_view(origin.data(), origin.size())});
      co_await refuse(stream, bhttp::status::forbidden, req.version(),
                      "exai-gateway: origin not allowed\n");
      co_return;
    }
    const auto protocols = req[bhttp::field::sec_websocket_protocol];
    const bool offers_mcp =
        offers_subprotocol(std::string_view(protocols.data(), protocols.size()), "mcp");

    // Client token (design.md: compared in constant time, never logged). MCP clients send it as
    // a Bearer token on the upgrade; op clients in their hello, so an upgrade without any
    // Authorization that does not ask for `mcp` is let through unauthenticated.
    bool authenticated = true;
    if (!self->opts.token.empty()) {
      const auto auth = req[bhttp::field::authorization];
      std::string_view a(auth.data(), auth.size());
      if (!a.empty()) {
        constexpr std::string_view scheme = "bearer ";
        const bool is_bearer = a.size() > scheme.size() && lower(a.substr(0, scheme.size())) == scheme;
        authenticated =
            is_bearer && routes::constant_time_equal(trim(a.substr(scheme.size())), self->opts.token);
        if (!authenticated) {
          co_await refuse(stream, bhttp::status::unauthorized, req.version(),
                          "exai-gateway: bad token\n", true);
          co_return;
        }
      } else if (offers_mcp) {
        co_await refuse(stream, bhttp::status::unauthorized, req.version(),
                        "exai-gateway: Authorization: Bearer <token> required\n", true);
        co_return;
      } else {
        authenticated = false;
      }
    }
    if (self->stopped) {
      co_await refuse(stream, bhttp::status::service_unavailable, req.version(),
                      "exai-gateway: shutting down\n");
      co_return;
    }
    // Count first, then check: concurrent upgrades cannot overshoot the limit.
    if (self->count->open.fetch_add(1, std::memory_order_relaxed) >= limits.max_connections) {
      self->count->open.fetch_sub(1, std::memory_order_relaxed);
      co_await refuse(stream, bhttp::status::service_unavailable, req.version(),
                      "exai-gateway: too many connections\n");
      co_return;
    }

    stream.expires_never();  // the websocket's own timeouts take over
    ws_stream ws(std::move(stream.socket()));
    // Beast times the handshakes (upgrade and close); the idle timeout and its pings are
    // net::ws_keepalive's, in the transport (no timer re-armed per read).
    websocket::stream_base::timeout t;
    t.handshake_timeout = limits.handshake_timeout;
    t.idle_timeout = websocket::stream_base::none();
    t.keep_alive_pings = false;
    ws.set_option(t);
    ws.set_option(websocket::stream_base::decorator([offers_mcp](websocket::response_type& res) {
      res.set(bhttp::field::server, "exai-gateway");
      // The SDK's WebSocket client refuses a connection that does not select `mcp`.
      if (offers_mcp) res.set(bhttp::field::sec_websocket_protocol, "mcp");
    }));
    ws.read_message_max(limits.max_message_bytes);
    ws.auto_fragment(false);
    ws.text(true);
    auto [accept_ec] = co_await ws.async_accept(req, tuple_awaitable);
    if (accept_ec) {
      self->count->open.fetch_sub(1, std::memory_order_relaxed);
      EXAI_LOG(debug, "ws", "websocket handshake failed", {"error", accept_ec.message()});
      co_return;
    }
    // From here the transport owns the connection's place in the count.
    self->handler(std::make_unique<ws_connection>(std::move(ws), self->count, limits.idle_timeout),
                  authenticated);
  }
};

ws_listener::ws_listener(asio::any_io_executor ex, ws_listener_options opts, connection_handler h)
    : impl_(std::make_shared<impl>(ex, std::move(opts), std::move(h))) {}

ws_listener::~ws_listener() { stop(); }

error_code ws_listener::listen() {
  auto& s = *impl_;
  error_code ec;
  auto address = asio::ip::make_address(s.opts.endpoint.host, ec);
  tcp::endpoint ep;
  if (ec) {
    // A name such as "localhost": resolved once, here.
    tcp::resolver resolver(s.ex);
    auto results =
        resolver.resolve(s.opts.endpoint.host, std::to_string(s.opts.endpoint.port), ec);
    if (ec || results.empty()) return ec ? ec : asio::error::host_not_found;
    ep = results.begin()->endpoint();
  } else {
    ep = tcp::endpoint(address, s.opts.endpoint.port);
  }
  s.acceptor.open(ep.protocol(), ec);
  if (ec) return ec;
  // Lets a restarted gateway bind while old connections sit in TIME_WAIT; on Linux it never lets
  // two listeners share a port, so a busy port is still address_in_use.
  s.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  s.acceptor.bind(ep, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error_code ignored;
    s.acceptor.close(ignored);
  }
  return ec;
}

std::string ws_listener::local_endpoint() const {
  error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  if (ec) return {};
  host_port hp{ep.address().to_string(), ep.port()};
  return hp.to_string();
}

void ws_listener::start() {
  asio::co_spawn(impl_->ex, impl::accept_loop(impl_), asio::detached);
}

void ws_listener::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  error_code ec;
  impl_->acceptor.close(ec);
}

std::size_t ws_listener::connections() const {
  return impl_->count->open.load(std::memory_order_relaxed);
}

}  // namespace exai::gateway
