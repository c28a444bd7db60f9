// Correctness scenarios run against both daemon modes (issue 5, "Tests"): the same assertions for
// exai-daemon (multiplexed) and exai-daemon --compat reference (serial).
#pragma once

#include "tests/integration/pool/harness.hpp"

namespace exai::gateway::pool::itest {

// `clients` coroutines, each with `per_client` echo calls in flight at once; every answer must
// carry its own text.
asio::awaitable<void> scenario_many_clients(daemon_pool& pool, std::size_t clients, std::size_t per_client);

// A client cancel completes the caller at once. Multiplexed: the daemon's status shows the call
// cancelled (not completed) and no reply comes late. Serial: the late reply is dropped, and new
// calls do not wait behind the abandoned one.
asio::awaitable<void> scenario_cancel(daemon_pool& pool, bool multiplexed);

// A deadline fires within its budget (asserted with a generous margin) and the daemon is told
// (multiplexed: status shows the call cancelled).
asio::awaitable<void> scenario_deadline(daemon_pool& pool, bool multiplexed);

// SIGKILL of the daemon mid-call: every in-flight call fails with upstream_lost promptly; a
// daemon restarted on the same port serves calls again through the same pool.
asio::awaitable<void> scenario_kill_and_restart(daemon_pool& pool, peer& daemon, std::size_t in_flight,
                                                std::function<peer(std::uint16_t)> restart);

// Readiness, the tool list, unknown tools, tool-level failures, progress.
asio::awaitable<void> scenario_basics(daemon_pool& pool, bool multiplexed);

}  // namespace exai::gateway::pool::itest
