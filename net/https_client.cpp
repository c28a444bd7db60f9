// The providers' HTTP client: the one TU of the product that instantiates Beast HTTP over
// OpenSSL streams. One coroutine per exchange; connections are kept per scheme+host+port and
// reused while the server keeps them alive. Cancellation and timeouts close the socket (a half
// read HTTP/1.1 response cannot be resumed), so a closed stream is never returned to the pool.
#include "net/https_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <deque>
#include <list>
#include <map>
#include <stdexcept>

namespace exai::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using clock_type = std::chrono::steady_clock;

namespace {

class http_category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "exai.http"; }
  std::string message(int ev) const override {
    switch (static_cast<http_errc>(ev)) {
      case http_errc::bad_url: return "bad URL (want http(s)://host[:port][/path])";
      case http_errc::connect_timeout: return "connect timed out";
      case http_errc::first_byte_timeout: return "no response within the first-byte timeout";
      case http_errc::idle_timeout: return "the response stalled (idle timeout)";
      case http_errc::total_timeout: return "the exchange exceeded its total timeout";
      case http_errc::too_large: return "response header or body too large";
      case http_errc::bad_response: return "malformed HTTP response";
      case http_errc::pool_exhausted: return "no connection became free in time";
      case http_errc::cancelled: return "cancelled";
      case http_errc::aborted_by_caller: return "aborted by the caller";
    }
    return "http error";
  }
};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

struct parsed_url {
  bool tls = true;
  std::string host;  // without brackets
  std::string port;
  std::string target;  // "/path?query"
  std::string host_header;
  std::string key() const { return (tls ? "https://" : "http://") + host + ":" + port; }
};

std::optional<parsed_url> parse_url(std::string_view url) {
  parsed_url u;
  if (url.starts_with("https://")) {
    url.remove_prefix(8);
    u.port = "443";
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
    u.tls = false;
    u.port = "80";
  } else {
    return std::nullopt;
  }
  auto slash = url.find_first_of("/?#");
  std::string_view authority = url.substr(0, slash);
  std::string_view rest = slash == std::string_view::npos ? std::string_view{} : url.substr(slash);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  u.host_header = std::string(authority);
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    u.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (!authority.empty()) {
      if (authority.front() != ':') return std::nullopt;
      u.port = std::string(authority.substr(1));
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    u.host = std::string(authority.substr(0, colon));
    u.port = std::string(authority.substr(colon + 1));
  } else {
    u.host = std::string(authority);
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(u.port.data(), u.port.data() + u.port.size(), port);
  if (u.host.empty() || ec != std::errc() || end != u.port.data() + u.port.size() || port == 0 ||
      port > 65535) {
    return std::nullopt;
  }
  if (auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  u.target = rest.empty() ? "/" : (rest.front() == '?' ? "/" + std::string(rest) : std::string(rest));
  return u;
}

// One connection: plain TCP or TLS over TCP, with the read buffer that outlives one response.
struct connection {
  explicit connection(asio::any_io_executor ex) : tcp(ex) {}
  connection(asio::any_io_executor ex, ssl::context& ctx)
      : tcp(ex), tls(std::in_place, beast::tcp_stream(ex), ctx) {}

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : tcp; }
  void close() {
    error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
    open = false;
  }

  beast::tcp_stream tcp;  // the stream when plain; unused under TLS
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  clock_type::time_point idle_since{};
  bool open = true;
};

struct host_pool {
  std::deque<std::unique_ptr<connection>> idle;
  std::size_t active = 0;  // leased out or being opened
  std::list<asio::steady_timer*> waiters;
};

}  // namespace

const boost::system::error_category& http_category() noexcept {
  static const http_category_impl cat;
  return cat;
}

std::optional<std::string_view> http_response_head::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (iequals(h.name, name)) return std::string_view(h.value);
  }
  return std::nullopt;
}

struct https_client::impl {
  impl(asio::any_io_executor e, https_client_options o)
      : ex(std::move(e)), opts(std::move(o)), ctx(ssl::context::tls_client) {
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    error_code ec;
    ctx.set_default_verify_paths(ec);  // the system store; absent on some minimal images
    if (!opts.ca_file.empty()) {
      ctx.load_verify_file(opts.ca_file, ec);
      if (ec) {
        throw std::runtime_error("cannot load the CA file " + opts.ca_file + ": " + ec.message());
      }
    }
    ctx.set_verify_mode(opts.verify_peer ? ssl::verify_peer : ssl::verify_none);
  }

  asio::any_io_executor ex;
  https_client_options opts;
  ssl::context ctx;
  std::map<std::string, host_pool> pools;
  https_client_stats stats;
  std::size_t opening = 0;                       // connections being opened, all hosts
  std::list<asio::steady_timer*> opening_waiters;  // exchanges waiting for a turn to open one

  // Wakes the oldest exchange waiting in `queue` (it takes the turn or slot just freed).
  static void wake_oldest(std::list<asio::steady_timer*>& queue) {
    if (queue.empty()) return;
    queue.front()->cancel();
    queue.pop_front();
  }

  void opened() {
    if (opening > 0) --opening;
    wake_oldest(opening_waiters);
  }

  void release(const std::string& key, std::unique_ptr<connection> c, bool reusable) {
    auto& p = pools[key];
    if (p.active > 0) --p.active;
    --stats.active;
    if (reusable && c && c->open && p.idle.size() < opts.max_idle_per_host) {
      c->idle_since = clock_type::now();
      p.idle.push_back(std::move(c));
      ++stats.idle;
    } else if (c && c->open) {
      c->close();
    }
    wake_oldest(p.waiters);  // a slot is free
  }
};

// Everything one exchange needs to be aborted from the cancellation handler.
struct https_client::exchange_state {
  asio::cancellation_signal inner;  // bound to every operation of the exchange
  connection* conn = nullptr;
  tcp::resolver* resolver = nullptr;
  asio::steady_timer* waiting = nullptr;
  bool cancelled = false;

  void abort() {
    cancelled = true;
    if (resolver) resolver->cancel();
    if (waiting) waiting->cancel();
    if (conn) conn->close();
    inner.emit(asio::cancellation_type::terminal);
  }
};

namespace {

// A waiter's place in a queue of timers (a host's free slots, or the turns to open a
// connection): on every way out of the wait (woken, timed out, cancelled, an exception) the
// exchange stops pointing at the timer and leaves the queue if it is still listed.
template <class State>
struct waiter_listing {
  std::list<asio::steady_timer*>& queue;
  asio::steady_timer* timer;
  State& st;
  waiter_listing(std::list<asio::steady_timer*>& q, asio::steady_timer* t, State& s)
      : queue(q), timer(t), st(s) {
    queue.push_back(timer);
    st.waiting = timer;
  }
  ~waiter_listing() {
    st.waiting = nullptr;
    if (auto it = std::find(queue.begin(), queue.end(), timer); it != queue.end()) queue.erase(it);
  }
  waiter_listing(const waiter_listing&) = delete;
  waiter_listing& operator=(const waiter_listing&) = delete;
};

// Waits in `queue` on `wait` (armed with the wait's limit): true when woken by wake_oldest,
// false when the limit passed or the exchange was cancelled (st.cancelled tells which).
template <class State>
asio::awaitable<bool> wait_in_queue(std::list<asio::steady_timer*>& queue, State& st,
                                    asio::steady_timer& wait) {
  waiter_listing<State> listed(queue, &wait, st);
  auto [ec] = co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return ec && !st.cancelled;
}

}  // namespace

https_client::https_client(asio::any_io_executor ex, https_client_options opts)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(opts))) {}

https_client::~https_client() {
  for (auto& [key, p] : impl_->pools) {
    for (auto& c : p.idle) c->close();
  }
}

https_client_stats https_client::stats() const { return impl_->stats; }

// Why a coroutine of its own: every completion of an async operation awaited with use_awaitable
// clears the awaiting coroutine's cancellation slot, so a handler put there would be gone after
// the first read. While the caller awaits this one spawned exchange, its slot keeps our handler,
// which closes the socket and cancels the exchange (the pattern of routes/deadline.cpp).
asio::awaitable<error_code> https_client::async_request(const http_request& req,
                                                        const http_timeouts& timeouts,
                                                        head_handler on_head,
                                                        body_handler on_body) {
  auto st = std::make_shared<exchange_state>();
  auto outer = co_await asio::this_coro::cancellation_state;
  if (outer.cancelled() != asio::cancellation_type::none) {
    co_return make_error_code(http_errc::cancelled);
  }
  auto slot = outer.slot();
  if (slot.is_connected()) {
    slot.assign([st](asio::cancellation_type) { st->abort(); });
  }
  auto [ep, ec] = co_await asio::co_spawn(
      impl_->ex, exchange(impl_, req, timeouts, on_head, on_body, st),
      asio::bind_cancellation_slot(st->inner.slot(), asio::as_tuple(asio::use_awaitable)));
  if (st->cancelled) co_return make_error_code(http_errc::cancelled);
  if (ep) std::rethrow_exception(ep);
  co_return ec;
}

asio::awaitable<error_code> https_client::exchange(std::shared_ptr<impl> self, const http_request& req,
                                                   http_timeouts timeouts, head_handler& on_head,
                                                   body_handler& on_body,
                                                   std::shared_ptr<exchange_state> st) {
  auto url = parse_url(req.url);
  if (!url) co_return make_error_code(http_errc::bad_url);
  const std::string key = url->key();
  const auto start = clock_type::now();
  const auto deadline = start + timeouts.total;
  auto tok = [] { return asio::as_tuple(asio::use_awaitable); };

  // A phase's time limit: its own timeout, cut by what is left of the total.
  bool total_binds = false;
  auto limit = [&](std::chrono::milliseconds phase) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    total_binds = left <= phase;
    return std::max(std::chrono::milliseconds(1), std::min(phase, left));
  };
  auto timed_out = [&](http_errc phase) {
    return make_error_code(total_binds ? http_errc::total_timeout : phase);
  };

  ++self->stats.requests;
  auto& pool = self->pools[key];

  // 1. A connection: an idle one, or a new one if below the bound, or wait for a release.
  std::unique_ptr<connection> conn;
  bool reused = false;
  for (;;) {
    while (!pool.idle.empty()) {
      auto c = std::move(pool.idle.back());
      pool.idle.pop_back();
      --self->stats.idle;
      if (clock_type::now() - c->idle_since < self->opts.idle_keepalive && c->lowest().socket().is_open()) {
        conn = std::move(c);
        reused = true;
        break;
      }
      c->close();
    }
    if (conn || pool.active < self->opts.max_connections_per_host) break;
    asio::steady_timer wait(self->ex, limit(timeouts.connect));
    const bool woken = co_await wait_in_queue(pool.waiters, *st, wait);  // by a release
    if (st->cancelled) co_return make_error_code(http_errc::cancelled);
    if (!woken) co_return make_error_code(total_binds ? http_errc::total_timeout : http_errc::pool_exhausted);
  }
  ++pool.active;
  ++self->stats.active;
  bool reusable = false;
  struct lease {
    std::shared_ptr<impl> owner;
    std::string key;
    std::unique_ptr<connection>& conn;
    bool& reusable;
    exchange_state& st;
    ~lease() {
      st.conn = nullptr;  // a late cancel must not touch a connection handed back or freed
      owner->release(key, std::move(conn), reusable);
    }
  } leased{self, key, conn, reusable, *st};

  for (int attempt = 0;; ++attempt) {
    if (!conn) {
      // 2. Resolve, connect, handshake: at most max_opening at once (a turn is waited for).
      while (self->opening >= std::max<std::size_t>(1, self->opts.max_opening)) {
        asio::steady_timer wait(self->ex, limit(timeouts.connect));
        const bool woken = co_await wait_in_queue(self->opening_waiters, *st, wait);
        if (st->cancelled) co_return make_error_code(http_errc::cancelled);
        if (!woken) co_return timed_out(http_errc::connect_timeout);
      }
      ++self->opening;
      struct opening_turn {
        impl& i;
        ~opening_turn() { i.opened(); }
      } turn{*self};
      reused = false;
      conn = url->tls ? std::make_unique<connection>(self->ex, self->ctx)
                      : std::make_unique<connection>(self->ex);
      st->conn = conn.get();
      tcp::resolver resolver(self->ex);
      st->resolver = &resolver;
      const auto connect_limit = limit(timeouts.connect);
      asio::steady_timer resolve_timer(self->ex, connect_limit);
      resolve_timer.async_wait([&resolver](error_code ec) {
        if (!ec) resolver.cancel();
      });
      auto [rec, endpoints] = co_await resolver.async_resolve(url->host, url->port, tok());
      resolve_timer.cancel();
      st->resolver = nullptr;
      if (st->cancelled) co_return make_error_code(http_errc::cancelled);
      if (rec == asio::error::operation_aborted) co_return timed_out(http_errc::connect_timeout);
      if (rec) co_return rec;
      auto& low = conn->lowest();
      low.expires_after(limit(timeouts.connect));
      auto [cec, ep] = co_await low.async_connect(endpoints, tok());
      (void)ep;
      if (st->cancelled) co_return make_error_code(http_errc::cancelled);
      if (cec == beast::error::timeout) co_return timed_out(http_errc::connect_timeout);
      if (cec) co_return cec;
      ++self->stats.connections_opened;
      if (conn->tls) {
        // SNI (a name only: RFC 6066 §3 forbids literal addresses), and the certificate must
        // name the host (DNS name or IP address).
        error_code not_ip;
        asio::ip::make_address(url->host, not_ip);
        if (not_ip && !SSL_set_tlsext_host_name(conn->tls->native_handle(), url->host.c_str())) {
          co_return error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category());
        }
        conn->tls->set_verify_callback(ssl::host_name_verification(url->host));
        auto [hec] = co_await conn->tls->async_handshake(ssl::stream_base::client, tok());
        if (st->cancelled) co_return make_error_code(http_errc::cancelled);
        if (hec == beast::error::timeout) co_return timed_out(http_errc::connect_timeout);
        if (hec) co_return hec;
      }
    } else {
      ++self->stats.connections_reused;
      st->conn = conn.get();
    }

    // 3. Write the request and read the response header (first-byte timeout).
    http::request<http::string_body> hreq{http::string_to_verb(req.method), url->target, 11};
    if (hreq.method() == http::verb::unknown) hreq.method_string(req.method);
    hreq.set(http::field::host, url->host_header);
    hreq.set(http::field::user_agent, self->opts.user_agent);
    for (const auto& h : req.headers) hreq.set(h.name, h.value);
    hreq.keep_alive(true);
    hreq.body() = req.body;
    hreq.prepare_payload();

    conn->lowest().expires_after(limit(timeouts.first_byte));
    error_code wec;
    if (conn->tls) {
      std::tie(wec, std::ignore) = co_await http::async_write(*conn->tls, hreq, tok());
    } else {
      std::tie(wec, std::ignore) = co_await http::async_write(conn->tcp, hreq, tok());
    }
    http::response_parser<http::buffer_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(self->opts.max_header_bytes, UINT32_MAX)));
    parser.body_limit(self->opts.max_body_bytes);
    error_code hec = wec;
    if (!hec) {
      if (conn->tls) {
        std::tie(hec, std::ignore) = co_await http::async_read_header(*conn->tls, conn->buffer, parser, tok());
      } else {
        std::tie(hec, std::ignore) = co_await http::async_read_header(conn->tcp, conn->buffer, parser, tok());
      }
    }
    if (st->cancelled) co_return make_error_code(http_errc::cancelled);
    if (hec) {
      conn->close();
      // A kept-alive connection the server closed meanwhile: one more try on a fresh one.
      bool stale = reused && attempt == 0 &&
                   (hec == http::error::end_of_stream || hec == asio::error::eof ||
                    hec == asio::error::connection_reset || hec == asio::error::broken_pipe ||
                    hec == ssl::error::stream_truncated);
      if (stale) {
        conn.reset();
        st->conn = nullptr;
        continue;
      }
      if (hec == beast::error::timeout) co_return timed_out(http_errc::first_byte_timeout);
      if (hec == http::error::header_limit) co_return make_error_code(http_errc::too_large);
      if (hec != http::error::end_of_stream &&
          hec.category() == make_error_code(http::error::bad_version).category()) {
        co_return make_error_code(http_errc::bad_response);
      }
      co_return hec;
    }

    http_response_head head;
    head.status = parser.get().result_int();
    for (const auto& f : parser.get()) {
      head.headers.push_back({std::string(f.name_string()), std::string(f.value())});
    }
    if (on_head) on_head(head);

    // 4. The body, piece by piece as it arrives (idle timeout between reads).
    std::array<char, 16 * 1024> piece;
    while (!parser.is_done()) {
      parser.get().body().data = piece.data();
      parser.get().body().size = piece.size();
      conn->lowest().expires_after(limit(timeouts.idle));
      error_code rec;
      if (conn->tls) {
        std::tie(rec, std::ignore) = co_await http::async_read_some(*conn->tls, conn->buffer, parser, tok());
      } else {
        std::tie(rec, std::ignore) = co_await http::async_read_some(conn->tcp, conn->buffer, parser, tok());
      }
      if (rec == http::error::need_buffer) rec = {};
      if (st->cancelled) co_return make_error_code(http_errc::cancelled);
      const std::size_t got = piece.size() - parser.get().body().size;
      if (got > 0 && on_body && !on_body(std::string_view(piece.data(), got))) {
        conn->close();
        co_return make_error_code(http_errc::aborted_by_caller);
      }
      if (rec) {
        conn->close();
        if (rec == beast::error::timeout) co_return timed_out(http_errc::idle_timeout);
        if (rec == http::error::body_limit) co_return make_error_code(http_errc::too_large);
        co_return rec;  // e.g. http::error::partial_message: the stream was cut
      }
    }
    conn->lowest().expires_never();
    reusable = parser.keep_alive();
    st->conn = nullptr;
    co_return error_code{};
  }
}

}  // namespace exai::net
