// The exai-gateway process: backend, listeners, sessions, admin, signals and the graceful
// shutdown, on one io_context thread.
#pragma once

#include "gateway/config.hpp"

namespace exai::gateway {

// Exit codes of exai-gateway.
inline constexpr int exit_ok = 0;
inline constexpr int exit_startup_failure = 1;  // busy port, backend setup, ready file
inline constexpr int exit_usage = 2;             // bad flag, bad config key

// Runs until stdin EOF (with --stdio), SIGTERM/SIGINT (graceful: in-flight calls get
// shutdown_grace, then are cancelled and answered), or a second signal (exits at once with
// 128+signal). Returns the process exit code. Writes nothing to stdout except MCP messages.
int run_gateway(const gateway_config& config);

// "0.1.0"
const char* gateway_version() noexcept;

}  // namespace exai::gateway
