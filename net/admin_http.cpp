// The admin HTTP server: the one TU that instantiates Beast HTTP for /health, /ready and /metrics
//. One strand serves the acceptor and every connection: admin traffic is light, and a
// single strand makes stop() a plain walk over the open connections.
#include "net/admin_http.hpp"

#include <array>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "observability/log.hpp"
#include "observability/metrics.hpp"

namespace exai::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

// Prometheus text exposition format, version 0.0.4 (the Content-Type scrapers expect).
constexpr std::string_view metrics_content_type = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view json_content_type = "application/json";

using response = http::response<http::string_body>;

response make_response(http::status st, unsigned version, bool keep_alive,
                       std::string_view content_type, std::string body, bool head) {
  response res{st, version};
  res.set(http::field::server, "exai-admin");
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(keep_alive);
  // RFC 9110 section 9.3.2: HEAD gets the headers GET would, Content-Length included, no body.
  if (head) {
    res.content_length(body.size());
  } else {
    res.body() = std::move(body);
    res.prepare_payload();
  }
  return res;
}

std::string format_endpoint(const tcp::endpoint& ep) {
  auto addr = ep.address();
  std::string host = addr.to_string();
  if (addr.is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(ep.port());
}

}  // namespace

struct admin_server::impl {
  impl(asio::any_io_executor ex, admin_handlers h, admin_options o)
      : strand(asio::make_strand(ex)), acceptor(strand), handlers(std::move(h)), opts(o) {}

  asio::strand<asio::any_io_executor> strand;
  tcp::acceptor acceptor;
  admin_handlers handlers;
  admin_options opts;

  // Touched only on the strand once start() has run.
  bool started = false;
  bool stopped = false;
  std::uint64_t next_session = 0;
  std::map<std::uint64_t, beast::tcp_stream*> sessions;
  std::size_t refusing = 0;  // over-the-cap connections being answered 503

  mutable std::mutex endpoint_mu;  // local_endpoint() may be asked from any thread
  std::string endpoint_text;

  response route(const http::request<http::string_body>& req);
  void do_stop();
};

response admin_server::impl::route(const http::request<http::string_body>& req) {
  const bool head = req.method() == http::verb::head;
  const unsigned version = req.version();
  const bool keep_alive = req.keep_alive();
  std::string_view target = req.target();
  std::string_view path = target.substr(0, target.find('?'));

  enum class endpoint { health, ready, metrics, none };
  endpoint which = path == "/health"    ? endpoint::health
                   : path == "/ready"   ? endpoint::ready
                   : path == "/metrics" ? endpoint::metrics
                                        : endpoint::none;
  if (which == endpoint::none)
    return make_response(http::status::not_found, version, keep_alive, json_content_type,
                         R"({"error":"not found"})", head);
  if (req.method() != http::verb::get && !head) {
    auto res = make_response(http::status::method_not_allowed, version, keep_alive,
                             json_content_type, R"({"error":"method not allowed"})", false);
    res.set(http::field::allow, "GET, HEAD");
    return res;
  }

  try {
    switch (which) {
      case endpoint::health: {
        bool ok = handlers.healthy ? handlers.healthy() : true;
        return make_response(ok ? http::status::ok : http::status::service_unavailable, version,
                             keep_alive, json_content_type,
                             ok ? R"({"status":"ok"})" : R"({"status":"unhealthy"})", head);
      }
      case endpoint::ready: {
        std::pair<bool, std::string> r;
        if (handlers.ready) r = handlers.ready();
        else r.first = handlers.healthy ? handlers.healthy() : true;
        std::string body = !r.second.empty() ? std::move(r.second)
                           : r.first         ? std::string(R"({"ready":true})")
                                             : std::string(R"({"ready":false})");
        return make_response(r.first ? http::status::ok : http::status::service_unavailable,
                             version, keep_alive, json_content_type, std::move(body), head);
      }
      case endpoint::metrics: {
        std::string text = handlers.metrics ? handlers.metrics() : obs::metrics().render();
        return make_response(http::status::ok, version, keep_alive, metrics_content_type,
                             std::move(text), head);
      }
      case endpoint::none: break;
    }
  } catch (const std::exception& e) {
    EXAI_LOG(error, "admin", "admin handler failed", {"path", path}, {"error", e.what()});
  }
  return make_response(http::status::internal_server_error, version, keep_alive,
                       json_content_type, R"({"error":"internal error"})", head);
}

void admin_server::impl::do_stop() {
  if (stopped) return;
  stopped = true;
  error_code ignored;
  acceptor.close(ignored);
  // Closing cancels the pending read or write; each session then unwinds on this strand.
  for (auto& [id, stream] : sessions) stream->close();
  // Whatever the handlers capture may die soon after stop(): let go of it now.
  handlers = {};
}

namespace {

// Which read failures deserve an answer before closing (RFC 9110 section 15.5; RFC 6585 for 431).
std::optional<http::status> status_for_read_error(const error_code& ec) {
  if (ec == http::error::header_limit) return http::status::request_header_fields_too_large;
  if (ec == http::error::body_limit) return http::status::payload_too_large;
  if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
      ec == beast::error::timeout || ec == asio::error::operation_aborted)
    return std::nullopt;
  if (ec.category() == http::make_error_code(http::error::bad_target).category())
    return http::status::bad_request;  // a malformed request line or header
  return std::nullopt;                 // socket errors: nobody to answer
}

asio::awaitable<void> run_session(std::shared_ptr<admin_server::impl> self, tcp::socket socket) {
  if (self->stopped) co_return;
  beast::tcp_stream stream(std::move(socket));
  const std::uint64_t id = self->next_session++;
  self->sessions.emplace(id, &stream);
  struct unregister {
    admin_server::impl& s;
    std::uint64_t id;
    ~unregister() { s.sessions.erase(id); }
  } guard{*self, id};

  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(self->opts.max_header_bytes));
    parser.body_limit(self->opts.max_body_bytes);
    stream.expires_after(self->opts.read_timeout);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
    if (self->stopped) break;
    if (ec) {
      if (auto st = status_for_read_error(ec)) {
        auto res = make_response(*st, 11, false, json_content_type,
                                 R"({"error":"bad request"})", false);
        stream.expires_after(self->opts.write_timeout);
        co_await http::async_write(stream, res, tuple_awaitable);
      } else if (ec != http::error::end_of_stream && ec != asio::error::operation_aborted) {
        EXAI_LOG(debug, "admin", "admin connection closed", {"error", ec.message()});
      }
      break;
    }

    response res = self->route(parser.get());
    stream.expires_after(self->opts.write_timeout);
    auto [wec, wn] = co_await http::async_write(stream, res, tuple_awaitable);
    if (wec || !res.keep_alive() || self->stopped) break;
  }
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.close();
}

// Over the connection cap: a 503 instead of a silent close, then the peer's half is read until it
// closes or a short deadline passes (closing with its request unread would reset the connection
// and could lose the 503).
asio::awaitable<void> refuse_connection(std::shared_ptr<admin_server::impl> self, tcp::socket socket) {
  ++self->refusing;
  beast::tcp_stream stream(std::move(socket));
  static constexpr std::string_view busy =
      "HTTP/1.1 503 Service Unavailable\r\nServer: exai-admin\r\nContent-Type: application/json\r\n"
      "Cache-Control: no-store\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 38\r\n\r\n"
      R"({"error":"too many admin connections"})";
  stream.expires_after(self->opts.write_timeout);
  auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(busy), tuple_awaitable);
  error_code ignored;
  if (!wec) {
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    std::array<char, 1024> sink;
    stream.expires_after(self->opts.read_timeout);
    for (;;) {
      auto [rec, rn] = co_await stream.async_read_some(asio::buffer(sink), tuple_awaitable);
      if (rec || self->stopped) break;
    }
  }
  stream.close();
  --self->refusing;
}

asio::awaitable<void> accept_loop(std::shared_ptr<admin_server::impl> self) {
  for (;;) {
    auto [ec, socket] = co_await self->acceptor.async_accept(tuple_awaitable);
    if (self->stopped || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // EMFILE and friends: pause instead of spinning on a failing accept.
      EXAI_LOG(warn, "admin", "admin accept failed", {"error", ec.message()});
      asio::steady_timer pause(self->strand, std::chrono::milliseconds(100));
      co_await pause.async_wait(tuple_awaitable);
      if (self->stopped) co_return;
      continue;
    }
    if (self->sessions.size() >= self->opts.max_connections) {
      if (self->refusing < self->opts.max_connections) {
        asio::co_spawn(self->strand, refuse_connection(self, std::move(socket)), asio::detached);
      } else {
        error_code ignored;
        socket.close(ignored);
      }
      continue;
    }
    asio::co_spawn(self->strand, run_session(self, std::move(socket)), asio::detached);
  }
}

}  // namespace

admin_server::admin_server(asio::any_io_executor ex, admin_handlers h, admin_options opts)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(h), opts)) {}

admin_server::~admin_server() { stop(); }

error_code admin_server::listen(const std::string& host, std::uint16_t port) {
  error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  tcp::endpoint ep;
  if (!ec) {
    ep = tcp::endpoint(addr, port);
  } else {
    // A name such as "localhost": resolve once, at startup, and take the first answer.
    tcp::resolver resolver(impl_->strand);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec) return ec;
    if (results.empty()) return asio::error::host_not_found;
    ep = results.begin()->endpoint();
  }

  auto& acc = impl_->acceptor;
  if (acc.is_open()) acc.close(ec);
  acc.open(ep.protocol(), ec);
  if (ec) return ec;
  // SO_REUSEADDR on Linux allows rebinding over TIME_WAIT only; a port someone is listening on
  // still fails with address_in_use, which is what a busy port must report.
  acc.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(ep, ec);
  if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) {
    auto local = acc.local_endpoint(ec);
    if (!ec) {
      std::lock_guard lk(impl_->endpoint_mu);
      impl_->endpoint_text = format_endpoint(local);
    }
  }
  if (ec) {
    error_code ignored;
    acc.close(ignored);
  }
  return ec;
}

std::string admin_server::local_endpoint() const {
  std::lock_guard lk(impl_->endpoint_mu);
  return impl_->endpoint_text;
}

void admin_server::start() {
  asio::dispatch(impl_->strand, [self = impl_] {
    if (self->started || self->stopped || !self->acceptor.is_open()) return;
    self->started = true;
    asio::co_spawn(self->strand, accept_loop(self), asio::detached);
  });
}

void admin_server::stop() {
  asio::dispatch(impl_->strand, [self = impl_] { self->do_stop(); });
}

}  // namespace exai::net
