// Configuration of the daemon pool: plain data with documented defaults, parsed and
// validated once from the gateway config's "upstream" section (house-style 17).
#pragma once

#include "codecs/error.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace exai::gateway::pool {

// One daemon address (a replica). ws://HOST:PORT[/path]
struct endpoint {
  std::string host;
  std::uint16_t port = 0;
  std::string path = "/";

  std::string to_string() const;  // "HOST:PORT"
  friend bool operator==(const endpoint&, const endpoint&) = default;
};

struct pool_options {
  std::vector<endpoint> endpoints;
  std::string token;                          // EXAI_WS_TOKEN; never logged
  std::size_t connections_per_endpoint = 4;   // opened at start (multiplexed: the fixed size)
  std::chrono::milliseconds connect_timeout{3000};   // resolve + TCP + WebSocket handshake
  std::chrono::milliseconds hello_timeout{5000};     // hello sent -> hello_ack received
  std::chrono::milliseconds backoff_initial{100};    // reconnect delay, doubled per failure ...
  std::chrono::milliseconds backoff_max{5000};       // ... up to this, with jitter
  // Serial mode: how long an abandoned call may hold its connection before that connection is
  // closed and replaced. Multiplexed: how long an abandoned entry waits for `cancelled`.
  std::chrono::milliseconds abandon_timeout{30000};
  std::size_t queue_limit = 10000;            // calls waiting for a connection; more: OVER_CAPACITY
  std::size_t max_serial_connections = 10;    // per daemon address (reference daemon: 10 per IP)
  // WebSocket keep-alive: a ping after idle_timeout/2 of silence, the connection is dropped after
  // idle_timeout without any frame from the daemon (net::ws_keepalive, which checks every
  // idle_timeout/4: each step may come up to a quarter later).
  std::chrono::milliseconds idle_timeout{30000};
  std::size_t read_limit = 64u * 1024 * 1024;       // largest daemon message accepted (>= 64 MiB)
  // Largest message the daemon reads (the reference daemon's 32 MiB); a hello_ack that names its
  // own (capabilities.max_message_bytes) overrides it. A larger call fails alone, unsent.
  std::size_t upstream_max_message = 32u * 1024 * 1024;
  // While calls are outstanding on a connection, this long without a frame from the daemon (a
  // ping goes out at half of it) closes it as hung: its calls fail, its address's other
  // connections are dropped too, and calls not yet sent wait for another connection.
  std::chrono::milliseconds hang_timeout{4000};
  // How long a queued call (and the first tools/list) waits while no daemon connection is ready
  // before it is answered "no daemon reachable", rather than at its deadline.
  std::chrono::milliseconds unreachable_wait{2000};
  std::uint32_t max_inflight_default = 64;    // multiplexed, when the ack names no max_inflight
};

// "ws://HOST:PORT[/path]" -> endpoint. errc::invalid_params with a message naming the URL.
codecs::result<endpoint> parse_ws_url(std::string_view url);

// Builds the options from the config file's "upstream" section (may be empty), the upstream URLs
// (command line or environment; when empty, the section's "urls" array or "url" string is used)
// and the token. Keys (all optional; *_ms are integers in milliseconds):
//   connections_per_endpoint, connect_timeout_ms, hello_timeout_ms, backoff_initial_ms,
//   backoff_max_ms, abandon_timeout_ms, queue_limit, max_serial_connections (1..10), idle_timeout_ms,
//   max_message_bytes (the daemon's own limit when its hello_ack does not name it),
//   hang_timeout_ms, unreachable_wait_ms,
//   read_limit_bytes (>= 64 MiB), max_inflight_default, urls [..], url ".."
// An unknown key or a bad value is errc::invalid_params whose message names the key. Call budgets
// are not pool options: the routes narrow each call's deadline (tools.call_timeout_ms,
// tools.timeouts_ms), and call_timeout_ms / tool_timeouts_ms here are refused with that pointer.
codecs::result<pool_options> parse_pool_options(const boost::json::object& upstream_section,
                                                 std::vector<std::string> urls, std::string token);

// The keys of the section alone, with the same checks (urls and url: their types only): no
// endpoints, no token. The gateway's configuration parses the section once with it.
codecs::result<pool_options> parse_pool_keys(const boost::json::object& upstream_section);

}  // namespace exai::gateway::pool
