// The providers' HTTP client: the one TU of the product that instantiates Beast HTTP over
// OpenSSL streams. One coroutine per exchange; connections are kept per scheme+host+port and
// reused while the server keeps them alive. Cancellation and timeouts close the socket (a half
// read HTTP/1.1 response cannot be resumed), so a closed stream is never returned to the pool.
#include "net/https_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <cerrno>

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

// One connection to a provider host: a TCP socket and, for https://, an OpenSSL session that
// reads and writes the socket itself (through socket_bio below). Asio only waits for readiness;
// OpenSSL moves the bytes. Compared with asio::ssl::stream this keeps no 17 KB staging buffers
// and no BIO pair per connection (about 70 KB less each), and one wake-up drains every record
// that has arrived instead of decoding one record per completed operation.
struct connection;

// The connection's deadline, checked lazily: moving it (every body read does) is a store; the
// timer wakes at the deadline it was armed for and re-arms if the deadline moved on meanwhile.
// Shared with the timer's handler, which may run after the connection is gone.
struct watchdog {
  explicit watchdog(const asio::any_io_executor& ex) : timer(ex) {}
  asio::steady_timer timer;
  clock_type::time_point deadline = clock_type::time_point::max();
  bool waiting = false;
  connection* conn = nullptr;  // null once the connection is gone
};

void watch(std::shared_ptr<watchdog> w);

struct ssl_free {
  void operator()(SSL* s) const noexcept { ::SSL_free(s); }
};

struct connection {
  explicit connection(const asio::any_io_executor& ex)
      : sock(ex), dog(std::make_shared<watchdog>(ex)) {
    dog->conn = this;
  }
  ~connection() {
    dog->conn = nullptr;
    dog->timer.cancel();
  }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  void close() {
    error_code ignored;
    sock.shutdown(tcp::socket::shutdown_both, ignored);
    sock.close(ignored);
    open = false;
  }
  // The phase's limit: past it the socket is closed and the pending operation ends in
  // beast::error::timeout.
  void expires_after(std::chrono::milliseconds d) {
    const auto at = clock_type::now() + d;
    const bool earlier = at < dog->deadline;
    dog->deadline = at;
    if (!dog->waiting || (earlier && at < dog->timer.expiry())) {
      dog->waiting = true;
      dog->timer.expires_at(at);  // an earlier wait ends as operation_aborted and stops there
      watch(dog);
    }
  }
  void expires_never() {
    dog->deadline = clock_type::time_point::max();
    if (dog->waiting) {
      dog->waiting = false;
      dog->timer.cancel();  // no wait left pending on a pooled connection
    }
  }
  // What a failed socket operation means here: the watchdog's close is a timeout.
  error_code failure(error_code ec) const { return timed_out ? error_code(beast::error::timeout) : ec; }

  tcp::socket sock;
  std::unique_ptr<SSL, ssl_free> ssl;  // null for http://
  beast::flat_buffer buffer;           // the response header's bytes, then the body's unparsed tail
  clock_type::time_point idle_since{};
  std::shared_ptr<watchdog> dog;
  bool open = true;
  bool timed_out = false;
  bool drained = false;    // the last receive came back short: the socket was empty then
  bool want_read = true;   // the last read stopped for lack of input: wait for readiness first
  int sys_error = 0;       // errno of the last failed receive or send
  error_code held;         // an error met after some bytes were read, returned by the next read
};

void watch(std::shared_ptr<watchdog> w) {
  auto* t = &w->timer;
  t->async_wait([w = std::move(w)](error_code ec) {
    if (ec || !w->conn) return;  // re-armed earlier (a newer wait runs), or the connection is gone
    if (w->deadline == clock_type::time_point::max()) {
      w->waiting = false;
      return;
    }
    if (clock_type::now() < w->deadline) {
      w->timer.expires_at(w->deadline);
      watch(w);
      return;
    }
    w->waiting = false;
    w->conn->timed_out = true;
    w->conn->close();
  });
}

// OpenSSL's I/O on the connection's socket: recv/send without SIGPIPE, and "retry" instead of a
// receive that can only fail: after a short receive the socket was empty, so the next read asks
// to wait for readiness (every wait re-checks readiness, so no byte is missed).
int bio_write(BIO* b, const char* data, std::size_t len, std::size_t* written) {
  auto* c = static_cast<connection*>(::BIO_get_data(b));
  ::BIO_clear_retry_flags(b);
  const ssize_t n = ::send(c->sock.native_handle(), data, len, MSG_NOSIGNAL);
  if (n >= 0) {
    *written = static_cast<std::size_t>(n);
    return 1;
  }
  c->sys_error = errno;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ::BIO_set_retry_write(b);
  return 0;
}

int bio_read(BIO* b, char* data, std::size_t len, std::size_t* got) {
  auto* c = static_cast<connection*>(::BIO_get_data(b));
  ::BIO_clear_retry_flags(b);
  if (c->drained) {
    c->drained = false;
    ::BIO_set_retry_read(b);
    return 0;
  }
  const ssize_t n = ::recv(c->sock.native_handle(), data, len, 0);
  if (n > 0) {
    *got = static_cast<std::size_t>(n);
    c->drained = static_cast<std::size_t>(n) < len;
    return 1;
  }
  if (n == 0) return 0;  // end of stream
  c->sys_error = errno;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ::BIO_set_retry_read(b);
  return 0;
}

long bio_ctrl(BIO*, int cmd, long, void*) {
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;  // writes are unbuffered
}

BIO_METHOD* socket_bio_method() {
  static BIO_METHOD* m = [] {
    BIO_METHOD* bm = ::BIO_meth_new(BIO_TYPE_SOURCE_SINK | ::BIO_get_new_index(), "exai-socket");
    ::BIO_meth_set_write_ex(bm, bio_write);
    ::BIO_meth_set_read_ex(bm, bio_read);
    ::BIO_meth_set_ctrl(bm, bio_ctrl);
    ::BIO_meth_set_create(bm, [](BIO* b) {
      ::BIO_set_init(b, 1);
      return 1;
    });
    return bm;
  }();
  return m;
}

error_code ssl_failure(connection& c, int ret) {
  const int err = ::SSL_get_error(c.ssl.get(), ret);
  if (err == SSL_ERROR_ZERO_RETURN) return asio::error::eof;  // close_notify
  const unsigned long e = ::ERR_peek_error();
  if (err == SSL_ERROR_SSL && e != 0) {
    ::ERR_clear_error();
    if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      return ssl::error::stream_truncated;
    }
    return error_code(static_cast<int>(e), asio::error::get_ssl_category());
  }
  if (err == SSL_ERROR_SYSCALL) {
    ::ERR_clear_error();
    if (c.sys_error != 0) return error_code(c.sys_error, boost::system::system_category());
    return ssl::error::stream_truncated;  // the peer closed without close_notify
  }
  ::ERR_clear_error();
  return ssl::error::unexpected_result;
}

enum class io_status { done, want_read, want_write };

// Reads what has arrived, without waiting, into `into` (TLS: record after record until the
// buffer is full or input runs out). `n` bytes were read; an error met after some bytes is held
// for the next call.
io_status read_now(connection& c, asio::mutable_buffer into, std::size_t& n, error_code& ec) {
  n = 0;
  ec = {};
  if (c.held) {
    ec = std::exchange(c.held, {});
    return io_status::done;
  }
  auto* p = static_cast<char*>(into.data());
  const std::size_t cap = into.size();
  if (!c.sock.is_open()) {
    ec = c.failure(asio::error::bad_descriptor);
    return io_status::done;
  }
  if (!c.ssl) {
    while (n < cap) {
      const ssize_t r = ::recv(c.sock.native_handle(), p + n, cap - n, 0);
      if (r > 0) {
        const bool short_read = static_cast<std::size_t>(r) < cap - n;
        n += static_cast<std::size_t>(r);
        if (short_read) {  // the socket is empty now: the next read waits for readiness first
          c.want_read = true;
          return io_status::done;
        }
        continue;
      }
      if (r == 0) {
        (n ? c.held : ec) = asio::error::eof;
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        c.want_read = true;
        return n ? io_status::done : io_status::want_read;
      } else if (errno != EINTR) {
        (n ? c.held : ec) = error_code(errno, boost::system::system_category());
      } else {
        continue;
      }
      break;
    }
    c.want_read = false;
    return io_status::done;
  }
  while (n < cap) {
    ::ERR_clear_error();
    c.sys_error = 0;
    std::size_t got = 0;
    const int r = ::SSL_read_ex(c.ssl.get(), p + n, cap - n, &got);
    if (r == 1) {
      n += got;
      // The socket was empty at the last receive and OpenSSL holds nothing more: stop here.
      // Another SSL_read_ex could only report WANT_READ, after taking a 17 KB record buffer
      // again (SSL_MODE_RELEASE_BUFFERS freed it when this read emptied it).
      if (c.drained && ::SSL_has_pending(c.ssl.get()) == 0) {
        c.drained = false;
        c.want_read = true;
        return io_status::done;
      }
      continue;
    }
    const int err = ::SSL_get_error(c.ssl.get(), r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      c.want_read = err == SSL_ERROR_WANT_READ;
      // OpenSSL keeps an empty record buffer through the wait that follows (a read that took
      // only a ticket, or found nothing yet): 17 KB a stream, 11 MB at 1,000 streams. It is
      // freed unless it holds part of a record (SSL_free_buffers refuses then).
      if (c.want_read) ::SSL_free_buffers(c.ssl.get());
      if (n) return io_status::done;
      return err == SSL_ERROR_WANT_READ ? io_status::want_read : io_status::want_write;
    }
    (n ? c.held : ec) = ssl_failure(c, r);
    break;
  }
  c.want_read = false;
  return io_status::done;
}

io_status write_now(connection& c, asio::const_buffer from, std::size_t& n, error_code& ec) {
  n = 0;
  ec = {};
  if (!c.sock.is_open()) {
    ec = c.failure(asio::error::bad_descriptor);
    return io_status::done;
  }
  if (!c.ssl) {
    for (;;) {
      const ssize_t r = ::send(c.sock.native_handle(), from.data(), from.size(), MSG_NOSIGNAL);
      if (r >= 0) {
        n = static_cast<std::size_t>(r);
        return io_status::done;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return io_status::want_write;
      ec = error_code(errno, boost::system::system_category());
      return io_status::done;
    }
  }
  ::ERR_clear_error();
  c.sys_error = 0;
  const int r = ::SSL_write_ex(c.ssl.get(), from.data(), from.size(), &n);
  if (r == 1) return io_status::done;
  const int err = ::SSL_get_error(c.ssl.get(), r);
  if (err == SSL_ERROR_WANT_WRITE) return io_status::want_write;
  if (err == SSL_ERROR_WANT_READ) return io_status::want_read;
  ec = ssl_failure(c, r);
  return io_status::done;
}

// The asynchronous side of one step: try it; when it would block, wait for the socket's
// readiness and try again. A step that is done at once completes through a post (never inline).
template <class Step>
struct ready_op {
  connection& c;
  Step step;
  bool waited = false;
  bool posted = false;
  error_code result;
  std::size_t bytes = 0;

  template <class Self>
  void operator()(Self& self, error_code ec = {}) {
    if (posted) {
      self.complete(result, bytes);
      return;
    }
    if (ec) {
      self.complete(c.failure(ec), 0);
      return;
    }
    if (!c.sock.is_open()) {
      self.complete(c.failure(asio::error::operation_aborted), 0);
      return;
    }
    const io_status s = step(c, bytes, result);
    if (s != io_status::done) {
      waited = true;
      c.sock.async_wait(s == io_status::want_read ? tcp::socket::wait_read : tcp::socket::wait_write,
                        std::move(self));
      return;
    }
    if (result) result = c.failure(result);
    if (!waited) {
      posted = true;
      asio::post(c.sock.get_executor(), std::move(self));
      return;
    }
    self.complete(result, bytes);
  }
};

template <class Step, class Token>
auto async_ready(connection& c, Step step, Token&& token) {
  return asio::async_compose<Token, void(error_code, std::size_t)>(ready_op<Step>{c, std::move(step), false, false, {}, 0}, token,
                                                                    c.sock);
}

// The stream Beast's HTTP reads and writes run on (AsyncReadStream, AsyncWriteStream). Each
// operation uses the first buffer of its sequence (as asio's SSL stream does).
class conn_stream {
 public:
  using executor_type = asio::any_io_executor;
  explicit conn_stream(connection& c) : c_(c) {}
  executor_type get_executor() { return c_.sock.get_executor(); }

  template <class MutableBufferSequence, class Token>
  auto async_read_some(const MutableBufferSequence& bufs, Token&& token) {
    asio::mutable_buffer b = first_of(bufs);
    return async_ready(
        c_,
        [b](connection& c, std::size_t& n, error_code& ec) {
          if (b.size() == 0) {
            n = 0;
            ec = {};
            return io_status::done;
          }
          return read_now(c, b, n, ec);
        },
        std::forward<Token>(token));
  }

  // Several buffers (Beast's request head and body) are copied into one, so that a request is
  // one TLS record and one send, not one per piece.
  template <class ConstBufferSequence, class Token>
  auto async_write_some(const ConstBufferSequence& bufs, Token&& token) {
    constexpr std::size_t max_joined = 16 * 1024;
    asio::const_buffer b = first_of_const(bufs);
    std::vector<char> joined;
    if (b.size() < max_joined && asio::buffer_size(bufs) > b.size()) {
      joined.resize(std::min(asio::buffer_size(bufs), max_joined));
      joined.resize(asio::buffer_copy(asio::buffer(joined), bufs));
    }
    return async_ready(
        c_,
        [b, joined = std::move(joined)](connection& c, std::size_t& n, error_code& ec) {
          const asio::const_buffer what = joined.empty() ? b : asio::buffer(joined);
          if (what.size() == 0) {
            n = 0;
            ec = {};
            return io_status::done;
          }
          return write_now(c, what, n, ec);
        },
        std::forward<Token>(token));
  }

 private:
  template <class Seq>
  static asio::mutable_buffer first_of(const Seq& s) {
    for (auto it = asio::buffer_sequence_begin(s); it != asio::buffer_sequence_end(s); ++it) {
      asio::mutable_buffer b(*it);
      if (b.size() != 0) return b;
    }
    return {};
  }
  template <class Seq>
  static asio::const_buffer first_of_const(const Seq& s) {
    for (auto it = asio::buffer_sequence_begin(s); it != asio::buffer_sequence_end(s); ++it) {
      asio::const_buffer b(*it);
      if (b.size() != 0) return b;
    }
    return {};
  }
  connection& c_;
};

// The TLS handshake (client side), on the connection's socket.
template <class Token>
auto async_handshake(connection& c, Token&& token) {
  return async_ready(
      c,
      [](connection& cn, std::size_t& n, error_code& ec) {
        n = 0;
        ec = {};
        ::ERR_clear_error();
        cn.sys_error = 0;
        const int r = ::SSL_connect(cn.ssl.get());
        if (r == 1) return io_status::done;
        const int err = ::SSL_get_error(cn.ssl.get(), r);
        if (err == SSL_ERROR_WANT_READ) return io_status::want_read;
        if (err == SSL_ERROR_WANT_WRITE) return io_status::want_write;
        ec = ssl_failure(cn, r);
        return io_status::done;
      },
      std::forward<Token>(token));
}

// Waits until the connection may have input to read: at once when the last read stopped with
// input left (a full buffer), else for the socket's readiness.
template <class Token>
auto async_wait_input(connection& c, Token&& token) {
  return async_ready(
      c,
      [first = true](connection& cn, std::size_t& n, error_code& ec) mutable {
        n = 0;
        ec = {};
        if (first && cn.want_read) {
          first = false;
          return io_status::want_read;
        }
        return io_status::done;
      },
      std::forward<Token>(token));
}

struct ssl_session_free {
  void operator()(SSL_SESSION* s) const noexcept { ::SSL_SESSION_free(s); }
};

struct host_pool {
  std::deque<std::unique_ptr<connection>> idle;
  std::size_t active = 0;  // leased out or being opened
  std::list<asio::steady_timer*> waiters;
  // The newest TLS session (a TLS 1.3 ticket) this host gave us: the next connection resumes
  // it, which skips parsing and verifying the certificate chain and shares the parsed one
  // (a burst of new connections was mostly handshakes; each kept its own copy of the chain).
  std::unique_ptr<SSL_SESSION, ssl_session_free> resume;
};

// OpenSSL's new-session callback: a copy of the session goes to the connection's host pool (the
// SSL's app data), replacing the older one. A copy, because OpenSSL marks the connection's own
// session not resumable when the connection ends without close_notify, as a cancelled stream
// does. Returns 0: OpenSSL keeps its reference to `session`.
int keep_session(SSL* ssl, SSL_SESSION* session) {
  auto* pool = static_cast<host_pool*>(SSL_get_app_data(ssl));
  if (pool && ::SSL_SESSION_is_resumable(session) == 1) pool->resume.reset(::SSL_SESSION_dup(session));
  return 0;
}

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
    // Record buffers are freed whenever they are empty (a streaming connection holds none
    // between records); read-ahead takes all that has arrived in one receive, not a record
    // header and then its body.
    ::SSL_CTX_set_mode(ctx.native_handle(), SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                                                SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    ::SSL_CTX_set_read_ahead(ctx.native_handle(), 1);
    // Sessions are kept per host pool (keep_session), not in OpenSSL's own cache.
    ::SSL_CTX_set_session_cache_mode(ctx.native_handle(),
                                     SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    ::SSL_CTX_sess_set_new_cb(ctx.native_handle(), &keep_session);
  }

  asio::any_io_executor ex;
  https_client_options opts;
  ssl::context ctx;
  std::map<std::string, host_pool> pools;
  https_client_stats stats;
  std::size_t opening = 0;                       // connections being opened, all hosts
  // What a body read takes in and what the parser hands on, shared by every exchange: both are
  // filled and used up between two suspensions, so no connection keeps buffers of its own.
  std::vector<char> input = std::vector<char>(64 * 1024);
  std::vector<char> body = std::vector<char>(64 * 1024);
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
      if (clock_type::now() - c->idle_since < self->opts.idle_keepalive && c->sock.is_open()) {
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
      conn = std::make_unique<connection>(self->ex);
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
      // Each address in turn, all within the connect timeout (the watchdog closes the socket).
      conn->expires_after(limit(timeouts.connect));
      error_code cec = asio::error::host_not_found;
      for (const auto& entry : endpoints) {
        error_code ignored;
        if (conn->sock.is_open()) conn->sock.close(ignored);
        conn->sock.open(entry.endpoint().protocol(), cec);
        if (cec) continue;
        std::tie(cec) = co_await conn->sock.async_connect(entry.endpoint(), tok());
        if (!cec || st->cancelled || conn->timed_out) break;
      }
      if (st->cancelled) co_return make_error_code(http_errc::cancelled);
      if (conn->timed_out) co_return timed_out(http_errc::connect_timeout);
      if (cec) co_return cec;
      error_code opt_ec;
      conn->sock.non_blocking(true, opt_ec);
      conn->sock.set_option(tcp::no_delay(true), opt_ec);
      ++self->stats.connections_opened;
      if (url->tls) {
        conn->ssl.reset(::SSL_new(self->ctx.native_handle()));
        BIO* bio = conn->ssl ? ::BIO_new(socket_bio_method()) : nullptr;
        if (!bio) co_return error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category());
        ::BIO_set_data(bio, conn.get());
        ::SSL_set_bio(conn->ssl.get(), bio, bio);
        ::SSL_set_connect_state(conn->ssl.get());
        // Sessions are resumed only with the host (and port and scheme) that issued them
        // (SSL_set_app_data and SSL_get_app_data are macros: no :: here).
        SSL_set_app_data(conn->ssl.get(), &pool);
        if (pool.resume) ::SSL_set_session(conn->ssl.get(), pool.resume.get());
        // SNI (a name only: RFC 6066 §3 forbids literal addresses), and the certificate must
        // name the host (DNS name or IP address).
        error_code not_ip;
        asio::ip::make_address(url->host, not_ip);
        const bool named = not_ip ? ::SSL_set_tlsext_host_name(conn->ssl.get(), url->host.c_str()) == 1 &&
                                        ::SSL_set1_host(conn->ssl.get(), url->host.c_str()) == 1
                                  : ::X509_VERIFY_PARAM_set1_ip_asc(::SSL_get0_param(conn->ssl.get()),
                                                                    url->host.c_str()) == 1;
        if (!named) co_return error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category());
        auto [hec, hn] = co_await async_handshake(*conn, tok());
        (void)hn;
        if (st->cancelled) co_return make_error_code(http_errc::cancelled);
        if (hec == beast::error::timeout) co_return timed_out(http_errc::connect_timeout);
        if (hec) co_return hec;
        if (::SSL_session_reused(conn->ssl.get()) == 1) ++self->stats.tls_resumed;
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

    conn_stream stream(*conn);
    conn->expires_after(limit(timeouts.first_byte));
    auto [wec, wn] = co_await http::async_write(stream, hreq, tok());
    (void)wn;
    http::response_parser<http::buffer_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(self->opts.max_header_bytes, UINT32_MAX)));
    parser.body_limit(self->opts.max_body_bytes);
    error_code hec = wec;
    if (!hec) {
      std::tie(hec, std::ignore) = co_await http::async_read_header(stream, conn->buffer, parser, tok());
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

    // 4. The body as it arrives (idle timeout between reads). Each wake-up reads all that has
    // arrived into the client's shared input buffer and parses it at once (eagerly: every
    // chunk in it), so the caller gets one piece per wake-up, not one per chunk; only an
    // unparsed tail (a chunk cut by the read) stays with the connection.
    parser.eager(true);
    bool aborted = false;
    auto parse = [&](const char* p, std::size_t n, error_code& pec) {
      std::size_t used = 0;
      pec = {};
      while (!parser.is_done() && used < n) {
        auto& out = parser.get().body();
        out.data = self->body.data();
        out.size = self->body.size();
        error_code e;
        const std::size_t u = parser.put(asio::const_buffer(p + used, n - used), e);
        used += u;
        const std::size_t got = self->body.size() - parser.get().body().size;
        if (got > 0 && on_body && !on_body(std::string_view(self->body.data(), got))) {
          aborted = true;
          break;
        }
        if (e == http::error::need_buffer) continue;
        if (e == http::error::need_more) break;
        if (e) {
          pec = e;
          break;
        }
        if (u == 0 && got == 0) break;
      }
      return used;
    };
    auto body_failed = [&](error_code e) {
      conn->close();
      if (e == beast::error::timeout) return timed_out(http_errc::idle_timeout);
      if (e == http::error::body_limit) return make_error_code(http_errc::too_large);
      return e;  // e.g. http::error::partial_message: the stream was cut
    };
    if (conn->buffer.size() > 0) {
      error_code pec;
      conn->buffer.consume(parse(static_cast<const char*>(conn->buffer.data().data()), conn->buffer.size(), pec));
      if (aborted) {
        conn->close();
        co_return make_error_code(http_errc::aborted_by_caller);
      }
      if (pec) co_return body_failed(pec);
    }
    if (conn->buffer.size() == 0) conn->buffer.shrink_to_fit();
    while (!parser.is_done()) {
      conn->expires_after(limit(timeouts.idle));
      auto [iec, in] = co_await async_wait_input(*conn, tok());
      (void)in;
      if (st->cancelled) co_return make_error_code(http_errc::cancelled);
      if (iec) co_return body_failed(iec);
      std::size_t n = 0;
      error_code rec;
      read_now(*conn, asio::buffer(self->input), n, rec);
      error_code pec;
      if (n > 0 && conn->buffer.size() == 0) {
        const std::size_t used = parse(self->input.data(), n, pec);
        if (!aborted && !pec && used < n) {
          const std::size_t rest = n - used;
          conn->buffer.commit(asio::buffer_copy(conn->buffer.prepare(rest), asio::buffer(self->input.data() + used, rest)));
        }
      } else if (n > 0) {
        conn->buffer.commit(asio::buffer_copy(conn->buffer.prepare(n), asio::buffer(self->input.data(), n)));
        conn->buffer.consume(parse(static_cast<const char*>(conn->buffer.data().data()), conn->buffer.size(), pec));
      }
      if (aborted) {
        conn->close();
        co_return make_error_code(http_errc::aborted_by_caller);
      }
      if (pec) co_return body_failed(pec);
      if (rec == asio::error::eof && !parser.is_done()) {
        parser.put_eof(pec);  // a body that runs to the end of the stream ends here; others were cut
        if (pec) co_return body_failed(pec);
        continue;
      }
      if (rec && !parser.is_done()) co_return body_failed(conn->failure(rec));
    }
    conn->expires_never();
    if (conn->buffer.size() == 0) conn->buffer.shrink_to_fit();
    reusable = parser.keep_alive();
    st->conn = nullptr;
    co_return error_code{};
  }
}

}  // namespace exai::net
