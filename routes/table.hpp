// The route table (house-style 11): canonical method name -> a plain async handler. Handlers see
// only the canonical model (codecs/model.hpp) and answer with a canonical JSON result; the session
// encodes it in the client's dialect. Only Boost.JSON and asio/awaitable.hpp here.
#pragma once

#include "codecs/error.hpp"
#include "codecs/model.hpp"
#include "routes/tool_backend.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace exai::routes {

namespace era {
struct modern_request;
struct listen_filter;
}
struct request_context;

// MCP revisions of the legacy (initialize) era we speak, oldest first (mcp-server-rules.md).
inline constexpr std::string_view supported_versions[] = {"2024-11-05", "2025-03-26", "2025-06-18",
                                                          "2025-11-25"};
inline constexpr std::string_view latest_version = "2025-11-25";
// The one revision whose clients may send JSON-RPC batches (mcp-server-rules.md, "Batches").
inline constexpr std::string_view batch_version = "2025-03-26";

// The requested version when we support it, else our latest (legacy lifecycle rule).
std::string_view negotiate_version(std::string_view requested) noexcept;

// What the routes know of one client connection. Owned by the session; handlers update it.
struct session_state {
  std::optional<std::string> protocol_version;  // set once initialize has been answered
  bool initialized_notified = false;            // notifications/initialized seen
  bool authenticated = true;                    // false until a token was presented (when required)
  bool op_hello_done = false;
  std::string session_id;                       // ours, for logs and op hello_ack
  std::optional<std::string> log_level;         // set by logging/setLevel (legacy era)
  // Cancels one of this session's in-flight requests (client id in that dialect). Returns false
  // when the id is unknown or already finished (both are ignored by the caller).
  std::function<bool(const codecs::client_id&, codecs::dialect)> cancel_request;
  // Serves a validated subscriptions/listen request (ctx names it): acknowledges it, delivers the
  // filtered notifications on the request's stream, and completes with the listen result when
  // the session ends the stream; a client cancel or a lost stream ends it by cancellation (no
  // reply). Empty: subscriptions/listen is not offered (-32601).
  std::function<boost::asio::awaitable<codecs::result<boost::json::value>>(
      const era::listen_filter&, request_context&)>
      listen;
};

// Route behaviour fixed at startup (from the gateway configuration).
struct route_options {
  std::string server_name = "exai-gateway";
  std::string server_version = "0.0.0";
  std::chrono::milliseconds call_timeout{300'000};                          // --call-timeout-ms
  std::map<std::string, std::chrono::milliseconds, std::less<>> tool_timeouts;  // tools.timeouts_ms
  std::size_t page_size = 100;                                              // tools/list page
  std::string token;                  // op hello token the gateway expects; empty: no auth
  std::uint32_t max_inflight = 256;   // advertised to op clients in hello_ack
  // ttlMs of modern-era list results and server/discover (clients may reuse them that long).
  std::chrono::milliseconds list_ttl{60'000};

  std::chrono::milliseconds timeout_for(std::string_view tool) const;
};

struct request_context {
  session_state& session;
  tool_backend& backend;
  const route_options& options;
  codecs::dialect dialect = codecs::dialect::jsonrpc;
  clock::time_point received = clock::now();
  // Absolute deadline for the whole request; tools/call narrows it with the tool's budget.
  clock::time_point deadline = clock::time_point::max();
  progress_sink progress{};    // empty when the client did not ask for progress
  std::string session_label{}; // for logs
  std::string client_key{};    // for logs
  // Set while a 2026-07-28 request is served (routes/era.hpp); null for the legacy era.
  const era::modern_request* modern = nullptr;
  // Set by handlers for the session's metrics and logs.
  bool timed_out = false;      // tools/call answered with the timeout result
  std::string tool{};          // tools/call: the tool's name
};

// A handler may take what it needs out of the message (tools/call moves its arguments on to the
// backend rather than copying them); the session keeps the id, method and op for the reply.
using handler = boost::asio::awaitable<codecs::result<boost::json::value>> (*)(
    codecs::inbound&, request_context&);

// The handler for a canonical method arriving in dialect d, or nullptr (-> method_not_found,
// -32601). `hello` and `cancel` exist only for op clients, initialize, server/discover and
// notifications/* only for JSON-RPC ones. Each JSON-RPC handler picks the request's era itself
// (routes/era.hpp): a request with the modern `_meta` fields is served in the 2026-07-28 shape.
handler find_route(std::string_view method, codecs::dialect d) noexcept;

// Methods the session runs inline in its reader, in arrival order, without an in-flight entry:
// notifications, op `cancel` (whose request_id is the id of the call it cancels), and the
// handshakes (initialize, op hello), whose effect on the session must precede the next message.
// Their handlers never suspend on I/O.
bool is_inline_method(std::string_view method, codecs::dialect d) noexcept;

// Handlers, exposed for unit tests; find_route() is the way in.
boost::asio::awaitable<codecs::result<boost::json::value>> handle_initialize(
    codecs::inbound&, request_context&);
boost::asio::awaitable<codecs::result<boost::json::value>> handle_initialized(
    codecs::inbound&, request_context&);
boost::asio::awaitable<codecs::result<boost::json::value>> handle_ping(codecs::inbound&,
                                                                       request_context&);
boost::asio::awaitable<codecs::result<boost::json::value>> handle_tools_list(
    codecs::inbound&, request_context&);
boost::asio::awaitable<codecs::result<boost::json::value>> handle_tools_call(
    codecs::inbound&, request_context&);
boost::asio::awaitable<codecs::result<boost::json::value>> handle_server_discover(
    codecs::inbound&, request_context&);
boost::asio::awaitable<codecs::result<boost::json::value>> handle_subscriptions_listen(
    codecs::inbound&, request_context&);
boost::asio::awaitable<codecs::result<boost::json::value>> handle_logging_set_level(
    codecs::inbound&, request_context&);
boost::asio::awaitable<codecs::result<boost::json::value>> handle_cancelled(
    codecs::inbound&, request_context&);
boost::asio::awaitable<codecs::result<boost::json::value>> handle_op_hello(
    codecs::inbound&, request_context&);
boost::asio::awaitable<codecs::result<boost::json::value>> handle_op_cancel(
    codecs::inbound&, request_context&);

// The text of a timeout tool result: names the tool and its budget (issue 4, "Deadlines").
std::string timeout_message(std::string_view tool, std::chrono::milliseconds budget);

}  // namespace exai::routes
