// The metric names exai-gateway and exai-daemon export on /metrics (issue 6), one place for the
// code and for conf/grafana-dashboard.json, which queries exactly these names. Register through
// exai::obs::metrics() with the name and help below, e.g.
//   auto& n = obs::metrics().get_counter(names::requests_total.name, names::requests_total.help,
//                                        {{"method", "tools/call"}, {"tool", "echo"}, {"outcome", "ok"}});
// and keep the reference (the lookup takes a lock; updates are lock-free).
#pragma once

#include <string_view>

namespace exai::obs::names {

struct metric_def {
  std::string_view name;
  std::string_view help;
};

// Label names, in the order the series should be created.
inline constexpr std::string_view label_method = "method";        // "tools/call", "call_tool", ...
inline constexpr std::string_view label_tool = "tool";            // tool name; "" when none
inline constexpr std::string_view label_outcome = "outcome";      // see outcome_* below
inline constexpr std::string_view label_transport = "transport";  // "stdio", "ws", "http"
inline constexpr std::string_view label_dialect = "dialect";      // "mcp", "op"
inline constexpr std::string_view label_state = "state";          // see state_* below

// Values of `outcome`. Keep the set small: each value is a time series per method and tool.
inline constexpr std::string_view outcome_ok = "ok";
inline constexpr std::string_view outcome_error = "error";          // tool or protocol error
inline constexpr std::string_view outcome_timeout = "timeout";      // our deadline fired
inline constexpr std::string_view outcome_cancelled = "cancelled";  // client cancel or disconnect

// Values of `state` for upstream connections.
inline constexpr std::string_view state_connecting = "connecting";  // TCP, WebSocket, hello
inline constexpr std::string_view state_ready = "ready";
inline constexpr std::string_view state_backoff = "backoff";        // waiting to reconnect

// counter {method, tool, outcome}
inline constexpr metric_def requests_total{
    "exai_requests_total", "Requests answered, by method, tool and outcome."};
// histogram {tool}, seconds; buckets are histogram::bounds()
inline constexpr metric_def request_duration_seconds{
    "exai_request_duration_seconds", "Time from receiving a request to queueing its reply, by tool."};
// gauge
inline constexpr metric_def inflight_requests{
    "exai_inflight_requests", "Requests received and not yet answered."};
// gauge
inline constexpr metric_def queue_depth{
    "exai_queue_depth", "Tool calls waiting for a free upstream connection."};
// gauge {transport, dialect}
inline constexpr metric_def sessions{
    "exai_sessions", "Open client sessions, by transport and dialect."};
// gauge {state}
inline constexpr metric_def upstream_connections{
    "exai_upstream_connections", "Daemon connections, by state."};
// counter
inline constexpr metric_def upstream_reconnects_total{
    "exai_upstream_reconnects_total", "Reconnection attempts to a daemon after a connection was lost."};
// counter
inline constexpr metric_def timeouts_total{
    "exai_timeouts_total", "Requests that reached their deadline."};
// counter
inline constexpr metric_def client_cancels_total{
    "exai_client_cancels_total", "Requests cancelled by the client (cancel message or disconnect)."};
// counter
inline constexpr metric_def late_replies_dropped_total{
    "exai_late_replies_dropped_total",
    "Upstream replies dropped because their call was already finished or unknown."};
// counter
inline constexpr metric_def bytes_in_total{
    "exai_bytes_in_total", "Message payload bytes received from clients."};
// counter
inline constexpr metric_def bytes_out_total{
    "exai_bytes_out_total", "Message payload bytes sent to clients."};

// Streamable HTTP and HTTP+SSE (gateway/http/server.cpp), registered when the HTTP endpoint opens.
// counter {status}: "200", "202", "404", ...
inline constexpr metric_def http_requests_total{
    "exai_http_requests_total", "HTTP requests to the MCP endpoints, by response status."};
// gauge
inline constexpr metric_def http_sse_streams{
    "exai_http_sse_streams", "Open SSE responses: GET /mcp, GET /sse and POST replies streamed as SSE."};
// gauge {era}: "streamable" (Mcp-Session-Id) or "sse" (2024-11-05 GET /sse)
inline constexpr metric_def http_sessions{
    "exai_http_sessions", "Open HTTP sessions, by transport era."};
inline constexpr std::string_view label_status = "status";
inline constexpr std::string_view label_era = "era";

// All of the above but the HTTP series, for tests and documentation.
inline constexpr metric_def all[] = {
    requests_total,        request_duration_seconds,  inflight_requests,    queue_depth,
    sessions,              upstream_connections,      upstream_reconnects_total,
    timeouts_total,        client_cancels_total,      late_replies_dropped_total,
    bytes_in_total,        bytes_out_total};

}  // namespace exai::obs::names
