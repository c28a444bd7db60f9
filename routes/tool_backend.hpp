// The interface routes call to reach tools: the embedded tool host (gateway/embedded_backend) and
// the daemon pool (gateway/pool) implement it. Only Boost.JSON and asio/awaitable.hpp here.
#pragma once

#include "codecs/error.hpp"
#include "codecs/model.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace exai::routes {

using clock = std::chrono::steady_clock;

// Called from the backend's executor for each progress report of one call. May be empty.
using progress_sink = std::function<void(const codecs::progress_update&)>;

struct call_context {
  clock::time_point deadline = clock::time_point::max();  // absolute (house-style 9)
  progress_sink progress;
  std::string session;     // for logs only
  std::string client_id;   // for logs only (client_id::key())
};

class tool_backend {
 public:
  virtual ~tool_backend() = default;

  // MCP Tool objects (name, title?, description, inputSchema, outputSchema?, annotations?).
  // errc::backend_unavailable when the backend cannot say (never an empty list instead).
  virtual boost::asio::awaitable<codecs::result<boost::json::array>> async_list_tools() = 0;

  // Calls one tool. Errors: tool_not_found / invalid_params (-> JSON-RPC -32602), timeout (the
  // deadline passed), cancelled, over_capacity, upstream_lost, backend_unavailable.
  // Deadline contract: the call ends by ctx.deadline with errc::timeout, the tool stopped (or the
  // upstream told); callers await it without a timer of their own.
  // A tool that ran and failed is a tool_result with is_error, not an error.
  // Cancellation contract: terminal/partial cancellation of the awaiting coroutine's slot makes
  // the call complete promptly with errc::cancelled and stops the tool (or tells the upstream).
  virtual boost::asio::awaitable<codecs::result<codecs::tool_result>> async_call_tool(
      std::string name, boost::json::object arguments, call_context ctx) = 0;

  // Ready to serve calls (for /ready). The embedded backend is always ready.
  virtual bool ready() const = 0;

  // Completes once the tool set has changed since generation `seen` (0: the set the backend
  // started without), with the current generation; at once when it already has. The generation
  // only grows, so no change is missed between two waits. Runs on the backend's executor.
  // Cancellation: terminal or partial cancellation of the awaiting coroutine ends the wait with
  // system_error(operation_aborted). The default suits a backend whose tool set never changes:
  // it waits until cancelled.
  virtual boost::asio::awaitable<std::uint64_t> async_wait_tools_changed(std::uint64_t seen);
};

}  // namespace exai::routes
