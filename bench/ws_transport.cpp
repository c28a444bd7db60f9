// exai-bench's WebSocket client transport (Beast over a bare TCP socket: no per-operation timers on
// the hot path) and URL parsing. This is the TU that instantiates Beast's client operations.
#include "bench/transport.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/stream.hpp>

namespace exai::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

std::optional<ws_target> parse_url(std::string_view url, std::string_view scheme) {
  std::string prefix = std::string(scheme) + "://";
  if (url.substr(0, prefix.size()) != prefix) return std::nullopt;
  url.remove_prefix(prefix.size());
  auto slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  ws_target t;
  t.path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  auto colon = authority.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == authority.size())
    return std::nullopt;
  t.host = std::string(authority.substr(0, colon));
  t.port = std::string(authority.substr(colon + 1));
  return t;
}

namespace {

class ws_transport final : public message_transport {
 public:
  explicit ws_transport(tcp::socket s) : ws_(std::move(s)) {}

  asio::awaitable<void> async_handshake(const ws_target& t, std::string subprotocol,
                                        std::string token) {
    websocket::stream_base::timeout to{};
    to.handshake_timeout = std::chrono::seconds(5);  // also bounds the close handshake
    to.idle_timeout = websocket::stream_base::none();
    to.keep_alive_pings = false;
    ws_.set_option(to);
    ws_.set_option(websocket::stream_base::decorator(
        [subprotocol, token](websocket::request_type& req) {
          req.set(beast::http::field::user_agent, "exai-bench");
          if (!subprotocol.empty()) req.set(beast::http::field::sec_websocket_protocol, subprotocol);
          if (!token.empty()) req.set(beast::http::field::authorization, "Bearer " + token);
        }));
    ws_.read_message_max(256u * 1024 * 1024);
    ws_.auto_fragment(false);
    ws_.secure_prng(false);  // the client mask needs no cryptographic strength on loopback
    ws_.text(true);
    std::string host = t.host + ":" + t.port;
    co_await ws_.async_handshake(host, t.path, asio::use_awaitable);
  }

  asio::awaitable<void> async_write(std::string_view msg) override {
    co_await ws_.async_write(asio::buffer(msg.data(), msg.size()), asio::use_awaitable);
  }

  asio::awaitable<std::string_view> async_read() override {
    buf_.consume(buf_.size());
    // Frame by frame into the buffer: one composed operation fewer per message than
    // ws_.async_read (the generator shares the cores with what it measures). Throws on error.
    do {
      buf_.commit(co_await ws_.async_read_some(buf_.prepare(ws_.read_size_hint(buf_)),
                                               asio::use_awaitable));
    } while (!ws_.is_message_done());
    auto d = buf_.data();
    co_return std::string_view(static_cast<const char*>(d.data()), d.size());
  }

  asio::awaitable<void> async_close() override {
    // Idempotent: the engine may ask while the connection's own loop also closes, and Beast
    // allows only one close operation at a time.
    if (closing_) co_return;
    closing_ = true;
    boost::system::error_code ec;
    if (ws_.is_open())
      co_await ws_.async_close(websocket::close_code::normal,
                               asio::redirect_error(asio::use_awaitable, ec));
    beast::get_lowest_layer(ws_).close(ec);
  }

  void abort() override {
    boost::system::error_code ec;
    beast::get_lowest_layer(ws_).close(ec);
  }

 private:
  websocket::stream<tcp::socket> ws_;
  beast::flat_buffer buf_;
  bool closing_ = false;
};

}  // namespace

asio::awaitable<std::unique_ptr<message_transport>> async_connect_ws(ws_target target,
                                                                    std::string subprotocol,
                                                                    std::string bearer_token,
                                                                    int receive_buffer) {
  auto ex = co_await asio::this_coro::executor;
  tcp::socket sock(ex);
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(target.host, ec);
  if (!ec) {
    // An address literal needs no resolver (whose async form runs a thread per io_context).
    tcp::endpoint ep(addr, static_cast<unsigned short>(std::stoul(target.port)));
    if (receive_buffer > 0) {
      sock.open(ep.protocol());
      sock.set_option(asio::socket_base::receive_buffer_size(receive_buffer));
    }
    co_await sock.async_connect(ep, asio::use_awaitable);
  } else {
    tcp::resolver resolver(ex);
    auto endpoints = co_await resolver.async_resolve(target.host, target.port, asio::use_awaitable);
    co_await asio::async_connect(sock, endpoints, asio::use_awaitable);
  }
  sock.set_option(tcp::no_delay(true));
  auto t = std::make_unique<ws_transport>(std::move(sock));
  co_await t->async_handshake(target, std::move(subprotocol), std::move(bearer_token));
  co_return t;
}

}  // namespace exai::bench
