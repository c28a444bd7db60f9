// The admin HTTP/1.1 server : GET/HEAD /health, /ready and /metrics for exai-gateway and
// exai-daemon. Beast lives only in admin_http.cpp; this header pulls in no Beast.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/system/error_code.hpp>

namespace exai::net {

// Called on the server's strand, possibly while other threads run the gateway: they must be
// thread-safe (reading atomics or taking a short lock is fine) and must not block.
struct admin_handlers {
  std::function<bool()> healthy;                        // null: always healthy
  std::function<std::pair<bool, std::string>()> ready;  // {ok, JSON reason}; null: ready == healthy
  std::function<std::string()> metrics;                 // Prometheus text; null: obs::metrics()
};

struct admin_options {
  // An idle keep-alive connection, or a client that sends a request too slowly, is closed after
  // this long, so stray sockets (and slowloris clients) do not hold the connection slots.
  std::chrono::milliseconds read_timeout{2'000};
  std::chrono::milliseconds write_timeout{10'000};
  std::size_t max_header_bytes = 8 * 1024;  // larger: 431 and close
  std::size_t max_body_bytes = 4 * 1024;    // the endpoints take no body; larger: 413 and close
  // Beyond this many connections a new one is answered 503 and closed; beyond twice as many
  // (503s still being written) it is closed at once.
  std::size_t max_connections = 64;
};

class admin_server {
 public:
  admin_server(boost::asio::any_io_executor ex, admin_handlers h, admin_options opts = {});
  ~admin_server();  // stop()s; destroy from the executor's thread or after it stopped running
  admin_server(const admin_server&) = delete;
  admin_server& operator=(const admin_server&) = delete;

  // Binds and listens; host is an IP address (or a name resolved once, here). Port 0 picks a free
  // port. Returns e.g. address_in_use. The caller picks the host: loopback is the default stance.
  boost::system::error_code listen(const std::string& host, std::uint16_t port);
  std::string local_endpoint() const;  // "127.0.0.1:40124", "[::1]:40124"; "" before listen

  // Spawns the accept loop on the executor (after a successful listen).
  void start();
  // Stops accepting and closes every connection; completes asynchronously on the server's strand,
  // so run() on the io_context returns once the coroutines have unwound. Safe from any thread and
  // idempotent. Handlers are not called after it has taken effect.
  void stop();

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace exai::net
