// One client connection, whatever its transport (issue 4, "Sessions, codecs, routes"): one reader,
// one writer draining a bounded queue, an in-flight table keyed by the client's id, each request in
// its own coroutine with a cancellation slot. Replies go out in the dialect they came in.
#pragma once

#include "codecs/parse.hpp"
#include "gateway/transport.hpp"
#include "routes/table.hpp"
#include "routes/tool_backend.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace exai::gateway {

struct session_options {
  std::string id;                              // "gw-..." for logs and op hello_ack
  std::size_t max_inflight = 256;              // requests running at once; then reading pauses
  std::size_t max_queued = 1024;               // replies waiting for the writer; then reading pauses
  // Bytes of replies queued, being written or held for an unfinished batch: at the bound reading
  // pauses, and a further reply that would pass it (while others wait) becomes an error instead.
  std::size_t max_session_bytes = 64u * 1024 * 1024;
  // Largest reply; a larger one becomes an error saying so (a tool error for tools/call).
  std::size_t max_reply_bytes = 32u * 1024 * 1024;
  std::size_t max_batch_elements = 256;        // a larger JSON-RPC batch gets one -32600
  std::chrono::milliseconds eof_grace{2000};   // in-flight time after stdin EOF (stdio)
  codecs::parse_limits limits;
  // False when the gateway requires a token and the connection has not presented it yet (a
  // WebSocket upgrade without Bearer): only an op hello with the token is then accepted.
  bool authenticated = true;
};

struct session_stats {
  std::uint64_t messages_in = 0, messages_out = 0, bytes_in = 0, bytes_out = 0;
  std::uint64_t requests = 0, client_cancels = 0, progress_dropped = 0;
  std::size_t max_inflight_seen = 0;
};

class session final {
 public:
  static std::shared_ptr<session> create(std::unique_ptr<message_transport> transport,
                                         routes::tool_backend& backend,
                                         const routes::route_options& routes,
                                         session_options opts);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  // Serves the connection until it ends: the peer closed, the transport failed, or shutdown()
  // finished. On return every request coroutine has completed and the writer has stopped.
  // Never throws. Run it on the transport's executor (co_spawn).
  boost::asio::awaitable<void> async_run();

  // Graceful stop (issue 6, "Lifecycle"): new requests are refused (shutting_down), in-flight
  // ones get `grace` to finish, the rest are cancelled and answered with an error, replies are
  // flushed and the connection closed (WebSocket 1001). Idempotent. Call on the session's executor.
  void shutdown(std::chrono::milliseconds grace);

  // Completes once the session has answered or cancelled every request and written every reply
  // after shutdown() (or the connection ended), or when the deadline passes. The WebSocket close
  // handshake may still be under way: a process that is exiting need not wait for the peer.
  boost::asio::awaitable<void> async_wait_drained(std::chrono::steady_clock::time_point deadline);
  bool drained() const noexcept;

  // notifications/tools/list_changed to an initialized MCP client; nothing otherwise.
  void notify_tools_changed();

  const std::string& id() const noexcept;
  std::size_t inflight() const noexcept;
  const session_stats& stats() const noexcept;
  boost::asio::any_io_executor get_executor() const;

  struct impl;
  explicit session(std::shared_ptr<impl> p);

 private:
  // Shared with the session's coroutines, which keep it alive until they finish.
  std::shared_ptr<impl> impl_;
};

}  // namespace exai::gateway
