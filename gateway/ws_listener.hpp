// The WebSocket listener for MCP and op clients : HTTP upgrade with the
// `mcp` subprotocol when offered, an Origin allow-list, the optional client token, connection and
// message limits, keep-alive pings and the idle timeout (net/ws_keepalive.hpp). Beast lives only
// in ws_listener.cpp.
#pragma once

#include "gateway/config.hpp"
#include "gateway/transport.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace exai::gateway {

namespace http {
class server;
}

struct ws_listener_options {
  host_port endpoint{"127.0.0.1", 3005};
  websocket_config limits;
  std::string token;  // EXAI_GATEWAY_TOKEN; empty: no client authentication
  // Serves requests that are not WebSocket upgrades (MCP over HTTP); null: they get 426.
  http::server* http = nullptr;
};

// Called on the listener's executor for each upgraded connection. `authenticated` is false when a
// token is required and the upgrade carried none (the client must then send an op hello with it).
using connection_handler =
    std::function<void(std::unique_ptr<message_transport>, bool authenticated)>;

// Origin allow-list (mcp-server-rules.md, "WebSocket": validate Origin): no Origin header, or
// http(s)://localhost | 127.0.0.1 | [::1] with any port, or an exact (case-insensitive) entry of
// `extra`.
bool origin_allowed(std::string_view origin, const std::vector<std::string>& extra);

// Whether a Sec-WebSocket-Protocol header offers `name` among its comma-separated tokens.
bool offers_subprotocol(std::string_view header, std::string_view name);

class ws_listener {
 public:
  ws_listener(boost::asio::any_io_executor ex, ws_listener_options opts, connection_handler h);
  ~ws_listener();
  ws_listener(const ws_listener&) = delete;
  ws_listener& operator=(const ws_listener&) = delete;

  // Binds and listens (address_in_use for a busy port; nothing else is touched).
  boost::system::error_code listen();
  std::string local_endpoint() const;  // "127.0.0.1:40123" after listen()
  void start();                        // the accept loop
  void stop();                         // stop accepting; open connections are the sessions' business
  std::size_t connections() const;     // upgraded connections still open

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace exai::gateway
