// SSE framing for the MCP streams and the bounded record behind Last-Event-ID resumption
// (MCP Streamable HTTP, "Resumability and Redelivery"). Sans-I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace exai::gateway::http {

// One JSON-RPC message as an SSE `message` event, with an `id:` line when id is not empty.
std::string sse_message(std::string_view json, std::string_view id = {});
// The 2024-11-05 transport's first event: `event: endpoint`, data the URI to POST to.
std::string sse_endpoint(std::string_view uri);
// A keep-alive comment line (ignored by clients; keeps proxies and idle timers from closing).
std::string sse_keepalive();

// The events sent on one session's GET stream, numbered 1, 2, 3, ... and kept (the newest
// max_events, within max_bytes) so a client that reconnects with Last-Event-ID gets what it missed.
class event_log {
 public:
  event_log(std::size_t max_events, std::size_t max_bytes);

  // Numbers and frames a message; the result is the event's wire text (also kept for replay).
  std::string append(std::string_view json);

  // The wire text of every kept event after `last_event_id`. nullopt when the id is not a number
  // this log issued or its successors are no longer all kept (then nothing can be replayed
  // faithfully and the caller starts afresh).
  std::optional<std::vector<std::string>> replay_after(std::string_view last_event_id) const;

  std::uint64_t last_id() const noexcept { return next_id_ - 1; }
  std::size_t kept() const noexcept { return events_.size(); }
  std::size_t kept_bytes() const noexcept { return bytes_; }

 private:
  struct entry {
    std::uint64_t id;
    std::string wire;
  };
  std::size_t max_events_;
  std::size_t max_bytes_;
  std::deque<entry> events_;
  std::size_t bytes_ = 0;
  std::uint64_t next_id_ = 1;
};

}  // namespace exai::gateway::http
