// The HTTPS client of the model providers: HTTP/1.1 over TLS (OpenSSL, verified against
// the system store plus an optional CA file, with SNI) or plain TCP for http:// URLs, a keep-alive
// pool per host with a bound on connections, TLS session resumption per host (a new connection
// offers the newest session the host issued), connect / first-byte / idle timeouts, and response
// bodies (chunked or not) handed to the caller as they arrive. Beast HTTP and SSL are
// instantiated in https_client.cpp only; this header pulls in neither.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace exai::net {

// Failures of the client itself (TLS, socket and resolver errors keep their own categories).
enum class http_errc {
  bad_url = 1,          // not http(s)://host[:port][/path]
  connect_timeout,      // TCP connect + TLS handshake took too long
  first_byte_timeout,   // no response header within the first-byte timeout
  idle_timeout,         // the body stalled for longer than the idle timeout
  total_timeout,        // the whole exchange took longer than the total timeout
  too_large,            // header or body over its limit
  bad_response,         // not HTTP/1.1 we can read
  pool_exhausted,       // no connection slot became free in time
  cancelled,            // the caller cancelled; the connection was closed
  aborted_by_caller,    // the body callback asked to stop; the connection was closed
};
const boost::system::error_category& http_category() noexcept;
inline boost::system::error_code make_error_code(http_errc e) noexcept {
  return {static_cast<int>(e), http_category()};
}

struct http_header {
  std::string name;  // as sent; compared case-insensitively
  std::string value;
};

struct http_request {
  std::string method = "POST";
  std::string url;  // https://host[:port]/path?query or http://...
  std::vector<http_header> headers;  // Host, Content-Length and User-Agent are added
  std::string body;
};

struct http_response_head {
  unsigned status = 0;
  std::vector<http_header> headers;
  // The first value of a header, case-insensitive name; nullopt when absent.
  std::optional<std::string_view> header(std::string_view name) const;
};

struct http_timeouts {
  std::chrono::milliseconds connect{10'000};     // TCP + TLS handshake
  std::chrono::milliseconds first_byte{30'000};  // request written -> response header complete
  std::chrono::milliseconds idle{30'000};        // between two body reads
  std::chrono::milliseconds total{600'000};      // the whole exchange
};

struct https_client_options {
  std::string ca_file;                         // extra trusted CA (PEM); empty: system store only
  bool verify_peer = true;                     // false only for tests that expect it to fail
  std::size_t max_connections_per_host = 32;   // busy + idle
  std::size_t max_idle_per_host = 8;
  // Connections being opened (TCP connect + TLS handshake) at once, all hosts together; more
  // wait (cancellably) for a turn. Bounds the handshake work per turn of the event loop, so a
  // burst of new connections does not hold back everything else the loop serves (reading the
  // cancels of those very calls included).
  std::size_t max_opening = 16;
  std::chrono::milliseconds idle_keepalive{30'000};  // idle pooled connections closed after this
  std::size_t max_header_bytes = 64 * 1024;
  std::size_t max_body_bytes = 64 * 1024 * 1024;
  std::string user_agent = "exai-gateway";
};

struct https_client_stats {
  std::uint64_t connections_opened = 0;
  std::uint64_t connections_reused = 0;
  std::uint64_t tls_resumed = 0;  // new TLS connections that resumed the host's last session
  std::uint64_t requests = 0;
  std::size_t idle = 0;    // pooled, now
  std::size_t active = 0;  // in use, now
};

class https_client {
 public:
  // Throws std::runtime_error when the CA file cannot be loaded.
  https_client(boost::asio::any_io_executor ex, https_client_options opts = {});
  ~https_client();
  https_client(const https_client&) = delete;
  https_client& operator=(const https_client&) = delete;

  using head_handler = std::function<void(const http_response_head&)>;
  // Each piece of the decoded body as it arrives (chunk framing removed). Return false to stop:
  // the connection is closed and the call ends with http_errc::aborted_by_caller.
  using body_handler = std::function<bool(std::string_view)>;

  // Sends req and reads the response: on_head once, then on_body for every piece of the body.
  // A connection whose response was read to its end is returned to the pool. Returns the error
  // (default-constructed on success). Any status is a success here (the caller judges it).
  //
  // Cancellation (terminal/partial/total): the awaiting coroutine's slot closes this request's
  // socket at once (no drain, never reused) and the call returns http_errc::cancelled.
  boost::asio::awaitable<boost::system::error_code> async_request(
      const http_request& req, const http_timeouts& timeouts, head_handler on_head,
      body_handler on_body);

  https_client_stats stats() const;

 private:
  struct impl;
  struct exchange_state;
  static boost::asio::awaitable<boost::system::error_code> exchange(
      std::shared_ptr<impl> self, const http_request& req, http_timeouts timeouts,
      head_handler& on_head, body_handler& on_body, std::shared_ptr<exchange_state> st);

  std::shared_ptr<impl> impl_;
};

}  // namespace exai::net

namespace boost::system {
template <>
struct is_error_code_enum<exai::net::http_errc> : std::true_type {};
}  // namespace boost::system
