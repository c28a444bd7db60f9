// The pool's pure decisions (house-style 12), unit-tested without sockets: the mode a
// hello_ack grants, which connection takes a call, queue admission, when a serial daemon address
// gets another connection, what a closed connection means, what to do with abandoned calls, and
// how a daemon's error becomes a tool result or an error.
#pragma once

#include "codecs/error.hpp"
#include "codecs/model.hpp"
#include "codecs/op.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace exai::gateway::pool {

enum class conn_mode : std::uint8_t { serial, multiplexed };

struct mode_decision {
  conn_mode mode = conn_mode::serial;
  std::size_t max_inflight = 1;
  bool cancel = false;     // `cancel` stops the tool (section 4); only used when multiplexed
  bool progress = false;   // numeric progress
};

// exai-op-protocol.md section 4: an ack without capabilities (the reference daemon) grants none
// of the extensions: one call at a time, replies in order. A granted multiplex without
// max_inflight uses default_inflight.
mode_decision decide_mode(const codecs::op::hello_ack& ack, std::uint32_t default_inflight) noexcept;

// One connection as dispatch sees it.
struct conn_view {
  bool ready = false;        // handshake done, not closing
  std::size_t load = 0;      // requests on it, abandoned ones included (they still occupy it)
  std::size_t capacity = 0;  // serial: 1; multiplexed: max_inflight
};

// The least-loaded ready connection with room, ties broken by scanning from `start` (round robin
// across replicas); nullopt when every ready connection is full or none is ready.
std::optional<std::size_t> pick_connection(std::span<const conn_view> conns, std::size_t start) noexcept;

enum class admission : std::uint8_t { dispatch, enqueue, reject };
// A call that found no connection waits in the FIFO unless it already holds queue_limit calls:
// then it is refused at once (OVER_CAPACITY), never left to hang.
admission admit(bool have_connection, std::size_t queued, std::size_t queue_limit) noexcept;

// One daemon address as the serial-growth rule sees it.
struct endpoint_view {
  bool serial = false;        // known serial (an ack without capabilities was seen)
  std::size_t open = 0;       // connection slots not retired (any state)
  std::size_t connecting = 0; // of those, not yet ready (connecting or backing off)
  std::size_t idle = 0;       // ready and carrying nothing
  std::size_t cap = 10;       // per-address limit (hazard 1: 10 connections per IP)
};
// How many connections to add to a serial address now so that `waiting` queued calls (and
// abandoned calls holding connections) do not wait behind busy ones while the cap allows more.
// Never for multiplexed addresses (they have a fixed size).
std::size_t serial_growth(const endpoint_view& ep, std::size_t waiting) noexcept;

// A connection closed before its hello_ack with close code 1008 (too many connections from this
// address): lower the address's cap to what is open elsewhere and retire this slot, unless it is
// the address's only connection (then it keeps retrying with backoff).
struct refusal_decision {
  bool retire = false;
  std::size_t new_cap = 0;
};
refusal_decision on_refused(std::size_t other_open, std::size_t cap) noexcept;

// Housekeeping of one connection: abandoned calls older than abandon_timeout. Serial: the
// connection is stuck behind a call nobody waits for; close and replace it. Multiplexed: the
// daemon never confirmed the cancel; forget the entries (their slots become free again).
enum class housekeeping : std::uint8_t { nothing, drop_expired, close_connection };
housekeeping housekeeping_action(conn_mode mode, std::size_t expired_abandoned) noexcept;

// What a daemon's final reply means for a tools/call (tool_backend.hpp contract): an unknown tool
// or bad arguments are errors (JSON-RPC -32602), OVER_CAPACITY is errc::over_capacity; every
// other daemon error is a tool result with is_error (the tool ran, or the daemon failed it).
codecs::result<codecs::tool_result> call_outcome(const codecs::op::call_tool_res& r);
codecs::result<codecs::tool_result> call_outcome(codecs::op::call_tool_res&& r);  // moves the outputs
codecs::result<codecs::tool_result> call_outcome(const codecs::op::wire_error& e);

// exai-op-protocol.md section 3: the reference daemon reports many tool-level failures as a
// successful call_tool_res whose text is a JSON document with "status":"<tool>_failed" or
// "status":"error". True for such a result (first text block, a JSON object, bounded size), so a
// serial connection can mark it is_error for MCP clients. Our daemon sets is_error itself.
bool is_reference_failure_document(const codecs::tool_result& r) noexcept;

}  // namespace exai::gateway::pool
