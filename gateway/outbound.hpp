// One client stream a session writes to (a WebSocket connection, stdout, one HTTP response, a GET
// or legacy SSE stream, or memory in tests). The session only pushes whole messages and asks the
// stream to end; each stream owns its writer, its queue and its transport.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace exai::gateway {

// Why a stream is being ended (WebSocket close codes; stdio just stops, HTTP maps them to a status).
enum class close_code : std::uint16_t {
  normal = 1000,
  going_away = 1001,       // shutdown
  policy_violation = 1008, // not authorised
  too_big = 1009,
  internal_error = 1011,
  missing_hello = 4001,    // first op message not hello when a token is required (section 1)
  unauthorized = 4003,     // op hello with a bad token (exai-op-protocol.md section 1)
};

// What a session does with the requests that came on a stream the client lost. The transport
// chooses: a WebSocket that breaks cancels; stdin EOF on stdio keeps stdout and grants a grace;
// a dropped HTTP POST is not a cancel (keep).
enum class loss_policy : std::uint8_t {
  cancel,  // cancel them now; nothing is sent for them
  grace,   // let them run for the session's grace period, then cancel and answer with an error
  keep,    // let them run; replies the stream cannot take go to the notification stream
};

enum class push_result : std::uint8_t {
  queued,  // accepted; it will be written in order unless the stream fails first
  full,    // the stream's own bound is reached; the message was not taken
  closed,  // the stream is ending or has ended; the message was not taken
};

// Told by an outbound about its queue: the session that attached the stream. Called on the
// stream's executor by the stream's writer, never from inside push(), close() or abort().
class outbound;

class outbound_watcher {
 public:
  virtual ~outbound_watcher() = default;
  // `messages` whole messages left the queue and are being written.
  virtual void on_taken(const outbound& from, std::size_t messages) noexcept = 0;
  // Messages taken earlier are done: written (`ok`), or lost because the stream failed.
  virtual void on_written(const outbound& from, std::size_t messages, std::size_t bytes,
                          bool ok) noexcept = 0;
  // The stream has ended: whatever was still queued (`dropped` messages of `dropped_bytes`) is
  // lost, and the stream is closing or closed. The last call for this stream.
  virtual void on_ended(const outbound& from, std::size_t dropped,
                        std::size_t dropped_bytes) noexcept = 0;
};

class outbound {
 public:
  virtual ~outbound() = default;

  // Queues one whole message. Never suspends and never calls back into the caller.
  virtual push_result push(std::string message) = 0;

  // Ends the stream once what was queued before is written. Later pushes report closed.
  // Idempotent: the first code wins.
  virtual void close(close_code code) = 0;

  // Gives up on queued and pending writes the peer does not take; the stream ends soon after.
  virtual void abort() noexcept = 0;

  // True once the stream has ended (on_ended was or is about to be called).
  virtual bool ended() const noexcept = 0;

  // The one watcher (the session that uses the stream); held weakly, so the stream never keeps
  // the session alive.
  virtual void watch(std::weak_ptr<outbound_watcher> w) = 0;

  // "stdio", "ws", "memory", ...: for logs and the sessions metric.
  virtual std::string_view kind() const noexcept = 0;
};

}  // namespace exai::gateway
