// One client session, protocol state only: the in-flight table keyed by the client's ids, each
// request in its own coroutine with a cancellation slot, progress, batches, back-pressure and the
// graceful end. It owns no transport: frames are handed in with the outbound they came on, and
// each reply goes to that outbound (or to the notification stream when that one has ended), in
// the dialect its request came in. gateway/stream_pump.hpp serves a transport with one.
#pragma once

#include "codecs/parse.hpp"
#include "gateway/outbound.hpp"
#include "routes/table.hpp"
#include "routes/tool_backend.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

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
  // subscriptions/listen streams open at once (each also holds an in-flight slot); a further
  // one is refused (gateway/subscriptions.hpp).
  std::size_t max_subscriptions = 8;
  // How long requests of a stream lost under loss_policy::grace may still run (stdin EOF).
  std::chrono::milliseconds eof_grace{2000};
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
  static std::shared_ptr<session> create(boost::asio::any_io_executor ex,
                                         routes::tool_backend& backend,
                                         const routes::route_options& routes,
                                         session_options opts);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  // All members are called on the session's executor.

  // The stream that gets notifications not tied to a request (tools/list_changed), and replies
  // whose own stream has ended. Attached like any stream (see deliver()).
  void set_notifications(std::shared_ptr<outbound> stream);

  // What is left of a frame after deliver(): an inline method or a batch, which suspend.
  class pending_frame;

  // Handles one client frame that arrived on `replies`, as far as it goes without suspending
  // (requests are started, errors answered); replies go to `replies`, which the session attaches
  // (watches, and closes when it ends). When the frame needs to suspend, the rest is returned and
  // must be completed with async_finish() before the next frame of the same stream is delivered:
  // frames of one stream are handled in arrival order.
  std::optional<pending_frame> deliver(std::string_view frame,
                                       const std::shared_ptr<outbound>& replies);
  // Completes the rest of a frame. Cancellation: none; it ends when the frame's inline method or
  // the dispatch of its batch ends (a batch waits for in-flight room, or for the session to close).
  boost::asio::awaitable<void> async_finish(pending_frame rest);
  // deliver() and async_finish() in one (one coroutine frame per message).
  boost::asio::awaitable<void> async_deliver(std::string frame, std::shared_ptr<outbound> replies);
  // A frame that arrived on `replies` but was over the size limit and dropped by the transport.
  void deliver_oversize(const std::shared_ptr<outbound>& replies);

  // Whether the session takes further frames from `stream`: false once the session is closing
  // or the stream has ended.
  bool accepting(const outbound& stream) const noexcept;
  // Back-pressure: completes with true once the session has room for another frame (in-flight
  // slots, queued replies and reply bytes under their bounds), with false once it takes no more
  // from `stream` (accepting() is false). Cancellation: none; it always completes by one of those.
  boost::asio::awaitable<bool> async_wait_room(const outbound& stream);

  // The client lost `stream` (its transport read failed or ended). Requests that came on it are
  // handled per `policy`; replies to kept requests go to the notification stream, if any.
  void stream_lost(const outbound& stream, loss_policy policy);

  // Ends a session whose only stream was lost or closed: its requests are handled per `policy`
  // (grace: eof_grace, then cancelled and answered; keep: waited for; cancel: cancelled now, or
  // after shutdown()'s grace when that is running), every stream is closed once its replies are
  // written, and the call completes when that is done or its bounded waits pass. On return no
  // request coroutine runs unless one ignored cancellation (logged). Never throws.
  boost::asio::awaitable<void> async_end(loss_policy policy);

  // Graceful stop: new requests are refused (shutting_down), in-flight
  // ones get `grace` to finish, the rest are cancelled and answered with an error, replies are
  // flushed and every stream closed (WebSocket 1001). Idempotent.
  void shutdown(std::chrono::milliseconds grace);

  // Completes once the session has answered or cancelled every request and every stream has
  // written its replies and ended (after shutdown() or async_end()), or when the deadline passes.
  // A WebSocket close handshake may still be under way: an exiting process need not wait for it.
  boost::asio::awaitable<void> async_wait_drained(std::chrono::steady_clock::time_point deadline);
  bool drained() const noexcept;

  // notifications/tools/list_changed to an initialized MCP client, and to every
  // subscriptions/listen stream that asked for it (tagged with its subscription id).
  void notify_tools_changed();
  // subscriptions/listen streams open now.
  std::size_t subscriptions() const noexcept;

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

class session::pending_frame {
 public:
  struct data;
  explicit pending_frame(std::unique_ptr<data> d);
  pending_frame(pending_frame&&) noexcept;
  pending_frame& operator=(pending_frame&&) noexcept;
  ~pending_frame();

 private:
  friend class session;
  std::unique_ptr<data> d_;
};

}  // namespace exai::gateway
