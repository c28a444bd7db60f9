// exai-bench echo-server mode: a trivial single-threaded Beast WebSocket echo server, the
// machine's ceiling for the `raw` scenario (issue 7).
#pragma once

#include "bench/options.hpp"

namespace exai::bench {

// Serves until SIGINT/SIGTERM (or --duration seconds when given > 0). Returns the exit code.
int run_echo_server(const options& opts);

}  // namespace exai::bench
