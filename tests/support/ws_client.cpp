// Blocking WebSocket and HTTP clients for integration tests. Reads run continuously underneath
// (a Beast websocket read must never be cancelled mid-stream), so a timed-out wait is harmless.
#include "tests/support/ws_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <stdexcept>
#include <thread>

namespace exai::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

struct ws_client::impl {
  asio::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer buf;
  websocket::response_type res;
  std::deque<std::string> inbox;
  bool open = false;
  bool reading = false;
  int close_code = 0;

  void start_read() {
    reading = true;
    ws.async_read(buf, [this](beast::error_code ec, std::size_t) {
      reading = false;
      if (ec) {
        open = false;
        if (ec == websocket::error::closed)
          close_code = static_cast<int>(ws.reason().code);
        else
          close_code = -1;
        return;
      }
      inbox.push_back(beast::buffers_to_string(buf.data()));
      buf.consume(buf.size());
      start_read();
    });
  }

  // Runs handlers until pred() or the timeout.
  template <class Pred>
  bool run_until(Pred pred, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return false;
      ioc.restart();
      ioc.run_one_for(deadline - now);
    }
    return true;
  }
};

ws_client::ws_client(std::string host, std::uint16_t port, ws_options opts)
    : impl_(std::make_unique<impl>()) {
  tcp::resolver resolver(impl_->ioc);
  auto results = resolver.resolve(host, std::to_string(port));
  beast::get_lowest_layer(impl_->ws).expires_after(std::chrono::seconds(10));
  beast::get_lowest_layer(impl_->ws).connect(results);
  beast::get_lowest_layer(impl_->ws).expires_never();
  impl_->ws.read_message_max(opts.read_limit);
  impl_->ws.set_option(websocket::stream_base::decorator([opts](websocket::request_type& req) {
    if (!opts.subprotocol.empty()) req.set(http::field::sec_websocket_protocol, opts.subprotocol);
    for (auto& [k, v] : opts.headers) req.set(k, v);
  }));
  beast::error_code ec;
  impl_->ws.handshake(impl_->res, host + ":" + std::to_string(port), opts.path, ec);
  if (ec) {
    if (opts.expect_failure) return;
    throw std::runtime_error("websocket handshake failed: " + ec.message() + " (HTTP " +
                             std::to_string(impl_->res.result_int()) + ")");
  }
  impl_->open = true;
  impl_->start_read();
}

ws_client::~ws_client() {
  beast::error_code ec;
  beast::get_lowest_layer(impl_->ws).socket().close(ec);
}

int ws_client::handshake_status() const { return impl_->res.result_int(); }

std::string ws_client::response_header(std::string_view name) const {
  auto it = impl_->res.find(beast::string_view(name.data(), name.size()));
  return it == impl_->res.end() ? std::string() : std::string(it->value());
}

void ws_client::send(std::string_view text) {
  if (!impl_->open) throw std::runtime_error("send on a closed websocket");
  bool done = false;
  beast::error_code result;
  impl_->ws.text(true);
  impl_->ws.async_write(asio::buffer(text.data(), text.size()),
                        [&](beast::error_code ec, std::size_t) {
                          result = ec;
                          done = true;
                        });
  if (!impl_->run_until([&] { return done; }, std::chrono::seconds(30)))
    throw std::runtime_error("websocket write timed out");
  if (result) throw std::runtime_error("websocket write failed: " + result.message());
}

void ws_client::send_json(const boost::json::value& v) { send(boost::json::serialize(v)); }

std::optional<std::string> ws_client::read(std::chrono::milliseconds timeout) {
  impl_->run_until([&] { return !impl_->inbox.empty() || !impl_->reading; }, timeout);
  if (impl_->inbox.empty()) return std::nullopt;
  std::string m = std::move(impl_->inbox.front());
  impl_->inbox.pop_front();
  return m;
}

boost::json::value ws_client::read_json(std::chrono::milliseconds timeout) {
  auto m = read(timeout);
  if (!m)
    throw std::runtime_error(impl_->open ? "no websocket message in time"
                                         : "websocket closed (code " +
                                               std::to_string(impl_->close_code) + ")");
  return boost::json::parse(*m);
}

bool ws_client::is_open() const { return impl_->open; }

int ws_client::close_code() const { return impl_->close_code; }

void ws_client::close() {
  if (!impl_->open) return;
  bool done = false;
  impl_->ws.async_close(websocket::close_code::normal, [&](beast::error_code) { done = true; });
  impl_->run_until([&] { return done && !impl_->reading; }, std::chrono::seconds(5));
  impl_->open = false;
}

http_response http_get(const std::string& host, std::uint16_t port, const std::string& target,
                       std::chrono::milliseconds timeout) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  tcp::resolver resolver(ioc);
  stream.expires_after(timeout);
  stream.connect(resolver.resolve(host, std::to_string(port)));
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, host);
  req.set(http::field::connection, "close");
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(stream, buf, res);
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  http_response out;
  out.status = res.result_int();
  out.body = std::move(res.body());
  if (auto it = res.find(http::field::content_type); it != res.end())
    out.content_type = std::string(it->value());
  return out;
}

bool http_status_becomes(std::uint16_t port, const std::string& target, int status,
                         std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (http_get("127.0.0.1", port, target, std::chrono::seconds(2)).status == status) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

}  // namespace exai::test
