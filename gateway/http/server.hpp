// The MCP HTTP endpoints served on the WebSocket listener's port: Streamable HTTP at /mcp (POST,
// GET, DELETE) and the 2024-11-05 HTTP+SSE transport at /sse and /messages. Each HTTP session is a
// gateway session like any other; each POST reply and each SSE stream is one of its outbounds.
// Beast is instantiated in server.cpp only; this header has none of it.
#pragma once

#include "gateway/http/sealed_id.hpp"
#include "gateway/session.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace exai::gateway::http {

struct server_options {
  std::vector<std::string> allowed_origins;  // as for WebSocket upgrades
  std::string token;                         // EXAI_GATEWAY_TOKEN; empty: none
  std::size_t max_body_bytes = 32u * 1024 * 1024;  // larger: 413
  std::size_t max_connections = 1000;        // HTTP connections; beyond: 503
  std::size_t max_sessions = 10'000;         // open HTTP sessions; a further initialize: 503
  std::chrono::milliseconds read_timeout{60'000};  // an idle keep-alive connection is closed
  // A session with no request in flight and no stream open for this long is ended (404 after).
  std::chrono::milliseconds session_idle{30 * 60'000};
  // The sealed id's lifetime: no replica accepts it afterwards.
  std::chrono::milliseconds session_lifetime{24 * 3600'000};
  // A call still running after this gets its reply as SSE (keep-alive comments until it ends).
  std::chrono::milliseconds sse_after{1'000};
  std::chrono::milliseconds keepalive{15'000};  // SSE comment interval on quiet streams
  std::size_t replay_events = 256;              // GET stream events kept for Last-Event-ID
  std::size_t replay_bytes = 1u << 20;
};

// How the server gets and gives back gateway sessions (the app keeps them in its registry, for
// shutdown and tools/list_changed). open(): a new session on the server's executor. end(): the
// HTTP session is over (DELETE, idle expiry, the legacy stream closed): cancel what runs, close
// its streams, forget it.
struct session_hooks {
  std::function<std::shared_ptr<session>()> open;
  std::function<void(std::shared_ptr<session>)> end;
};

class server {
 public:
  server(boost::asio::any_io_executor ex, server_options opts, session_sealer sealer,
         session_hooks hooks);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // From now on every request gets 503; open streams end with their sessions.
  void stop();
  std::size_t sessions() const;
  std::size_t open_streams() const;
  std::size_t connections() const;

  struct impl;
  std::shared_ptr<impl> get_impl() const { return impl_; }

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace exai::gateway::http
