// exai-bench's MCP Streamable HTTP client transport: each message written is one POST on a
// keep-alive connection (pipelined when several are in flight), each response read is the next
// message; 202 answers (notifications) are consumed silently. The Mcp-Session-Id from the
// initialize answer goes on every later request. With hold_stream (the `idle` mode), a read with no
// POST outstanding opens the session's GET stream and waits on it. The only TU that
// instantiates Beast's HTTP client operations.
#include "bench/transport.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <stdexcept>

namespace exai::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace {

// The data of the last event of an SSE body (the response comes last on a POST's stream).
std::string last_event_data(std::string_view body) {
  std::string data;
  std::string current;
  while (!body.empty()) {
    auto nl = body.find('\n');
    auto line = body.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      if (!current.empty()) data = std::move(current);
      current.clear();
    } else if (line.starts_with("data:")) {
      line.remove_prefix(5);
      if (line.starts_with(' ')) line.remove_prefix(1);
      if (!current.empty()) current += '\n';
      current.append(line);
    }
    if (nl == std::string_view::npos) break;
    body.remove_prefix(nl + 1);
  }
  return current.empty() ? data : current;
}

class http_transport final : public message_transport {
 public:
  http_transport(tcp::socket s, ws_target t, std::string token, bool hold_stream)
      : sock_(std::move(s)),
        target_(std::move(t)),
        token_(std::move(token)),
        hold_stream_(hold_stream),
        posted_(sock_.get_executor(), std::chrono::steady_clock::time_point::max()) {}

  asio::awaitable<void> async_write(std::string_view msg) override {
    wbuf_.clear();
    wbuf_ += "POST ";
    wbuf_ += target_.path;
    wbuf_ += " HTTP/1.1\r\nHost: ";
    wbuf_ += target_.host;
    wbuf_ += "\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n";
    add_session_headers();
    wbuf_ += "Content-Length: ";
    wbuf_ += std::to_string(msg.size());
    wbuf_ += "\r\n\r\n";
    wbuf_.append(msg);
    ++outstanding_;
    posted_.cancel();  // a reader waiting for a POST to answer
    co_await asio::async_write(sock_, asio::buffer(wbuf_), asio::use_awaitable);
  }

  asio::awaitable<std::string_view> async_read() override {
    for (;;) {
      while (outstanding_ == 0) {
        if (hold_stream_) co_await async_hold_stream();  // throws when the stream ends
        boost::system::error_code ec;
        co_await posted_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (!sock_.is_open()) throw std::runtime_error("closed");
      }
      bhttp::response_parser<bhttp::string_body> p;
      p.body_limit(boost::none);
      co_await bhttp::async_read(sock_, buf_, p, asio::use_awaitable);
      --outstanding_;
      auto& res = p.get();
      if (auto sid = res["Mcp-Session-Id"]; !sid.empty()) session_.assign(sid.data(), sid.size());
      if (res.result_int() == 202) continue;  // a notification's answer: no message
      if (res.result_int() != 200) {
        throw std::runtime_error("HTTP " + std::to_string(res.result_int()) + ": " +
                                 res.body().substr(0, 200));
      }
      body_ = std::move(res.body());
      const auto ct = res[bhttp::field::content_type];
      if (std::string_view(ct.data(), ct.size()).starts_with("text/event-stream")) {
        body_ = last_event_data(body_);
      }
      co_return std::string_view(body_);
    }
  }

  asio::awaitable<void> async_close() override {
    boost::system::error_code ec;
    sock_.shutdown(tcp::socket::shutdown_both, ec);
    sock_.close(ec);
    posted_.cancel();
    co_return;
  }

  void abort() override {
    boost::system::error_code ec;
    sock_.close(ec);
    posted_.cancel();
  }

 private:
  void add_session_headers() {
    if (!session_.empty()) {
      wbuf_ += "Mcp-Session-Id: ";
      wbuf_ += session_;
      wbuf_ += "\r\n";
    }
    if (!token_.empty()) {
      wbuf_ += "Authorization: Bearer ";
      wbuf_ += token_;
      wbuf_ += "\r\n";
    }
  }

  // GET of the session's stream; then reads (and drops) whatever it carries until it ends.
  asio::awaitable<void> async_hold_stream() {
    wbuf_.clear();
    wbuf_ += "GET ";
    wbuf_ += target_.path;
    wbuf_ += " HTTP/1.1\r\nHost: ";
    wbuf_ += target_.host;
    wbuf_ += "\r\nAccept: text/event-stream\r\n";
    add_session_headers();
    wbuf_ += "\r\n";
    co_await asio::async_write(sock_, asio::buffer(wbuf_), asio::use_awaitable);
    bhttp::response_parser<bhttp::empty_body> p;
    co_await bhttp::async_read_header(sock_, buf_, p, asio::use_awaitable);
    if (p.get().result_int() != 200) {
      throw std::runtime_error("GET stream: HTTP " + std::to_string(p.get().result_int()));
    }
    for (;;) {
      buf_.consume(buf_.size());
      buf_.commit(co_await sock_.async_read_some(buf_.prepare(4096), asio::use_awaitable));
    }
  }

  tcp::socket sock_;
  ws_target target_;
  std::string token_;
  std::string session_;
  beast::flat_buffer buf_;
  std::string wbuf_;
  std::string body_;
  unsigned outstanding_ = 0;
  bool hold_stream_;
  asio::steady_timer posted_;  // never expires: async_write wakes a reader that has nothing to read
};

}  // namespace

asio::awaitable<std::unique_ptr<message_transport>> async_connect_http(ws_target target,
                                                                      std::string bearer_token,
                                                                      bool hold_stream) {
  auto ex = co_await asio::this_coro::executor;
  tcp::socket sock(ex);
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(target.host, ec);
  if (!ec) {
    co_await sock.async_connect(
        tcp::endpoint(addr, static_cast<unsigned short>(std::stoul(target.port))),
        asio::use_awaitable);
  } else {
    tcp::resolver resolver(ex);
    auto endpoints = co_await resolver.async_resolve(target.host, target.port, asio::use_awaitable);
    co_await asio::async_connect(sock, endpoints, asio::use_awaitable);
  }
  sock.set_option(tcp::no_delay(true));
  co_return std::make_unique<http_transport>(std::move(sock), std::move(target),
                                             std::move(bearer_token), hold_stream);
}

}  // namespace exai::bench
