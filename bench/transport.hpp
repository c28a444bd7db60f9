// Message transports for exai-bench: a WebSocket client (one text frame per message) and a child
// process's stdio pipes (one line per message). The load loops in load.cpp see only this interface,
// which keeps Beast's instantiations in ws_transport.cpp.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace exai::bench {

class message_transport {
 public:
  virtual ~message_transport() = default;
  // One message. At most one write and one read are outstanding at a time. Throws
  // boost::system::system_error on failure.
  virtual boost::asio::awaitable<void> async_write(std::string_view msg) = 0;
  // The next message; the view stays valid until the next read. Throws on close or failure.
  virtual boost::asio::awaitable<std::string_view> async_read() = 0;
  // Orderly close (WebSocket close handshake / closing the child's stdin), bounded in time by
  // the transport; never throws.
  virtual boost::asio::awaitable<void> async_close() = 0;
  // Abort at once: outstanding operations complete with an error.
  virtual void abort() = 0;
};

struct ws_target {
  std::string host, port, path;
};
// ws://HOST:PORT[/PATH] (also http://, which is how /metrics URLs are written); nullopt if malformed.
std::optional<ws_target> parse_url(std::string_view url, std::string_view scheme = "ws");

// Connects and completes the WebSocket handshake, offering `subprotocol` when non-empty and
// sending `Authorization: Bearer token` when the token is non-empty. receive_buffer > 0 sets
// SO_RCVBUF before connecting (address literals only): a client that reads slowly, or never.
boost::asio::awaitable<std::unique_ptr<message_transport>> async_connect_ws(
    ws_target target, std::string subprotocol, std::string bearer_token, int receive_buffer = 0);

// MCP Streamable HTTP to http://HOST:PORT/PATH: one POST per message on one keep-alive connection
// (bench/http_transport.cpp). With hold_stream, a read with nothing outstanding opens the
// session's GET stream and holds it (one open SSE stream per idle session).
boost::asio::awaitable<std::unique_ptr<message_transport>> async_connect_http(
    ws_target target, std::string bearer_token, bool hold_stream);

// A child process started with its stdin and stdout as pipes.
struct child_stdio {
  std::unique_ptr<message_transport> transport;
  int pid = -1;
};
// argv[0] is looked up in PATH. stderr goes to stderr_file when non-empty (else inherited).
child_stdio spawn_stdio(boost::asio::any_io_executor ex, const std::vector<std::string>& argv,
                        const std::string& stderr_file);
// Waits for the child to exit (polling waitpid), SIGKILLs it after `timeout`; returns the exit code
// (128+N when killed by signal N).
boost::asio::awaitable<int> async_reap(int pid, std::chrono::milliseconds timeout);

// GET of an http:// URL over a plain socket (HTTP/1.1, Connection: close); the body, or nullopt
// when the request fails or the status is not 200. Bounded by `timeout`.
boost::asio::awaitable<std::optional<std::string>> async_http_get(std::string url,
                                                                  std::chrono::milliseconds timeout);

}  // namespace exai::bench
