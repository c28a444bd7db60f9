// exai-daemon configuration (house-style 17): plain structs with documented defaults, parsed once
// from daemon.json, the environment and the command line, validated up front. A bad key or value
// stops startup with a message naming it. Precedence: command line > environment > file > defaults.
#pragma once

#include "codecs/error.hpp"
#include "daemon/profiles.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace exai::daemon {

struct daemon_limits {
  std::size_t max_message_bytes = 32u * 1024 * 1024;  // inbound frame; over: close 1009
  std::size_t max_connections = 1000;                 // total; over: close 1008 before hello
  std::size_t max_connections_per_ip = 0;             // 0 = unlimited (compat default: 10)
  std::uint32_t max_inflight = 256;                   // multiplexed calls per connection
  std::size_t max_queued_bytes = 64u * 1024 * 1024;  // unsent replies per connection before reads pause
};

struct daemon_timeouts {
  std::chrono::milliseconds hello{15'000};          // no hello: close 4002
  std::chrono::milliseconds handshake{10'000};      // WebSocket upgrade
  std::chrono::milliseconds idle{60'000};           // ping after idle/2, close 1011-style when silent for idle
  std::chrono::milliseconds call{300'000};          // per tool call; 0 = none (reference: 300 s)
  std::chrono::milliseconds shutdown_grace{10'000}; // SIGTERM: in-flight calls may finish within this
  std::chrono::milliseconds progress_interval{5'000};  // text-only progress heartbeat; 0 = off
};

struct daemon_config {
  std::string listen = "127.0.0.1:3010";
  std::string admin;                        // "" = no admin server
  std::string ready_file;
  std::vector<std::string> tools = profiles::defaults();
  bool compat_reference = false;
  std::string log_level = "info";
  std::string token;                        // from EXAI_WS_TOKEN only (never from a file or flag)
  daemon_limits limits;
  daemon_timeouts timeouts;
};

// The outcome of reading the command line.
struct cli_result {
  enum class action : std::uint8_t { run, help, version, print_config } what = action::run;
  daemon_config config;
};

// Applies a daemon.json document (its text) onto `cfg`. Unknown keys and bad values are errors
// naming the key ("limits.max_inflight: expected a positive integer").
codecs::result<void> apply_config_json(std::string_view text, daemon_config& cfg);

// argv (without argv[0]) and an environment lookup (null when unset) -> a validated config.
// Reads --config FILE itself. Errors are messages for stderr (exit status 2).
using env_lookup = const char* (*)(const char*);
codecs::result<cli_result> parse_command_line(const std::vector<std::string>& args, env_lookup env);

// "HOST:PORT" -> {host, port}; port 0 allowed. "[::1]:80" for IPv6.
codecs::result<std::pair<std::string, std::uint16_t>> split_host_port(std::string_view s);

std::string usage_text();

// The effective configuration for --print-config: the layout of conf/daemon.json, plus
// `ready_file` when set and `tokens` (EXAI_WS_TOKEN as "<redacted>" when set, "" when not).
boost::json::object to_json(const daemon_config& cfg);

}  // namespace exai::daemon
