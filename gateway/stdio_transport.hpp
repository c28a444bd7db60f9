// MCP over stdio (mcp-server-rules.md, "stdio transport"): one compact JSON message per line on
// stdout and nothing else; stdin through the line framer, "\n" or "\r\n".
#pragma once

#include "gateway/transport.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <cstddef>
#include <memory>

namespace exai::gateway {

struct stdio_options {
  int in_fd = 0;
  int out_fd = 1;
  std::size_t max_line = 32u * 1024 * 1024;  // a longer line is dropped and answered -32600
};

// Pipes and sockets are served asynchronously (epoll). Anything else (a regular file, /dev/null,
// a terminal) is read by a helper thread and written with blocking writes: epoll refuses regular
// files and /dev/null, and a non-blocking terminal would also make stderr non-blocking (they
// share one open file description). The descriptors' flags are restored when the transport dies;
// the process never changes its process group.
std::unique_ptr<message_transport> make_stdio_transport(boost::asio::any_io_executor ex,
                                                        stdio_options opts = {});

}  // namespace exai::gateway
