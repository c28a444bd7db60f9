// exai-gateway configuration (house-style 17): plain structs with documented defaults, filled
// once at startup from defaults < config file < environment < command line, validated up front
// with a message naming the bad key or flag. Tokens come from the environment only.
#pragma once

#include "codecs/error.hpp"
#include "daemon/profiles.hpp"
#include "gateway/pool/pool_options.hpp"
#include "observability/log.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace exai::gateway {

using std::chrono::milliseconds;

struct host_port {
  std::string host;        // "127.0.0.1", "::1", "localhost"
  std::uint16_t port = 0;  // 0: any free port

  std::string to_string() const;  // "127.0.0.1:3005", "[::1]:3005"
  friend bool operator==(const host_port&, const host_port&) = default;
};

// "HOST:PORT" or "[V6]:PORT"; errc::invalid_params naming the text otherwise.
codecs::result<host_port> parse_host_port(std::string_view text);

struct websocket_config {
  std::size_t max_message_bytes = 32u * 1024 * 1024;  // larger: close 1009 (like the daemon)
  std::size_t max_connections = 1000;                 // beyond: the upgrade gets 503
  std::size_t max_inflight_per_session = 256;         // then reading pauses (back-pressure)
  std::size_t max_queued_per_session = 1024;          // replies waiting for the socket
  std::size_t max_bytes_per_session = 64u * 1024 * 1024;  // reply bytes waiting for the client
  std::size_t max_batch_elements = 256;               // JSON-RPC batch; larger: one -32600
  milliseconds idle_timeout{60'000};      // ping after half of it idle; close after all of it
  milliseconds handshake_timeout{10'000}; // HTTP upgrade and close handshake
  // Origins allowed besides the built-in ones (no Origin header, or http(s)://localhost,
  // 127.0.0.1, [::1] on any port). Exact, case-insensitive matches such as "https://app.example".
  std::vector<std::string> allowed_origins;
};

// MCP over HTTP on the --listen port (gateway/http/server.hpp); size limits and Origin rules are
// websocket_config's. The session secret comes from EXAI_GATEWAY_SESSION_SECRET only.
struct http_config {
  milliseconds session_idle{30 * 60'000};       // no request and no open stream: the session ends
  milliseconds session_lifetime{24 * 3600'000}; // a sealed Mcp-Session-Id is refused after this
  milliseconds sse_after{1'000};                // a call still running: its reply becomes SSE
  std::size_t max_sessions = 10'000;            // a further initialize (or GET /sse) gets 503
};

struct gateway_config {
  // Transports.
  bool stdio = false;                     // --stdio
  std::optional<host_port> listen;        // --listen; default 127.0.0.1:3005 without --stdio
  std::optional<host_port> admin;         // --admin; see admin_explicit
  // False when admin was not asked for but derived from --listen (127.0.0.1:3002, or port 0
  // when --listen uses port 0): a busy port then only disables it, with a warning.
  bool admin_explicit = false;
  std::string ready_file;                 // --ready-file

  // Backend: "embedded" (the in-process tool host) or daemon URLs (ws://HOST:PORT, replicas).
  std::vector<std::string> upstreams;     // empty after load: never (embedded is the default)
  bool embedded() const { return upstreams.size() == 1 && upstreams[0] == "embedded"; }
  // --tools, embedded backend only; names and the default in daemon/profiles.hpp.
  std::vector<std::string> profiles = daemon::profiles::defaults();
  boost::json::object upstream_section;   // the file's "upstream" object as given (--print-config)
  // The daemon pool's options, parsed once: the file's upstream keys, then the endpoints (empty
  // for embedded), the token and the routes' budgets where the file sets none.
  pool::pool_options pool;

  // Calls.
  milliseconds call_timeout{300'000};     // --call-timeout-ms; tools.call_timeout_ms
  std::map<std::string, milliseconds, std::less<>> tool_timeouts;  // tools.timeouts_ms.{name}
  std::size_t page_size = 100;            // tools/list page size (tools.page_size)

  // Lifecycle.
  milliseconds shutdown_grace{10'000};    // SIGTERM: in-flight calls get this long
  milliseconds stdio_eof_grace{2'000};    // stdin EOF: in-flight calls get this long

  websocket_config websocket;
  http_config http;
  obs::log_options log;                   // --log-level, LOG_LEVEL, log.{level,format,file,...}

  // Secrets, from the environment only; never printed or logged.
  std::string client_token;    // EXAI_GATEWAY_TOKEN: required of WebSocket clients when set
  std::string upstream_token;  // EXAI_WS_TOKEN: sent to the daemon in hello

  std::string config_file;     // --config, for messages
};

enum class command { run, help, version, print_config };

struct startup {
  command cmd = command::run;
  gateway_config config;
};

// Looks up an environment variable (injectable for tests).
using env_lookup = std::function<std::optional<std::string>(const char* name)>;
env_lookup process_env();

// Parses argv (without argv[0]), the config file it names, and the environment. Errors name the
// flag, file key or variable: "--listen: ...", "gateway.json: tools.timeouts_ms.chat: ...".
codecs::result<startup> load_config(const std::vector<std::string>& args, const env_lookup& env);

// The same from an already parsed file (for tests and --print-config checks).
codecs::result<gateway_config> apply_config_file(gateway_config base,
                                                 const boost::json::object& file,
                                                 std::string_view file_name);

// The effective configuration as JSON (--print-config); tokens are shown as "<redacted>" when
// set and "" when not.
boost::json::object to_json(const gateway_config& c);

std::string usage();

}  // namespace exai::gateway
