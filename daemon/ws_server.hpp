// The daemon's WebSocket listener: accepts connections, enforces the connection limits, and runs
// each connection's reader and single writer around an op_connection. Beast is instantiated in
// ws_server.cpp only (toolchain-and-peers.md: compile time); this header includes none of it.
#pragma once

#include "daemon/config.hpp"
#include "daemon/connection.hpp"
#include "daemon/tool_host.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace exai::daemon {

struct ws_server_settings {
  connection_settings connection;
  std::size_t max_message_bytes = 32u * 1024 * 1024;
  std::size_t max_connections = 1000;
  std::size_t max_connections_per_ip = 0;  // 0 = unlimited
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};  // 0 = none; pings after half of it
};

// Derives the server settings from the configuration.
ws_server_settings make_server_settings(const daemon_config& cfg);

class ws_server {
 public:
  ws_server(boost::asio::any_io_executor ex, tool_host& host, ws_server_settings s);
  ~ws_server();
  ws_server(const ws_server&) = delete;
  ws_server& operator=(const ws_server&) = delete;

  // Binds and listens. address_in_use etc. are returned, not thrown.
  boost::system::error_code listen(const std::string& host, std::uint16_t port);
  std::string local_endpoint() const;  // "127.0.0.1:40123"

  // Spawns the accept loop.
  void start();

  // SIGTERM (house-style 13): stop accepting; refuse new calls; let in-flight calls finish within
  // `grace`, then cancel the rest (each gets SERVICE_UNAVAILABLE); close every connection with
  // 1001 and wait (bounded) for them to go.
  boost::asio::awaitable<void> async_shutdown(std::chrono::milliseconds grace);

  std::size_t connections() const;
  std::size_t calls_in_flight() const;

  struct impl;  // public so that ws_server.cpp's free coroutines can name it

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace exai::daemon
