// An in-memory message transport for component tests (design.md: component tests run on an
// io_context with no sockets): the session reads what the test pushes and the test reads what
// the session writes; writes can be paused to exercise back-pressure.
#pragma once

#include "gateway/transport.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace exai::gateway {

class memory_pipe {
 public:
  explicit memory_pipe(boost::asio::any_io_executor ex, std::string kind = "memory",
                       bool replies_after_eof = false);
  ~memory_pipe();
  memory_pipe(const memory_pipe&) = delete;
  memory_pipe& operator=(const memory_pipe&) = delete;

  // The session's end (call once).
  std::unique_ptr<message_transport> transport();

  // Client -> session.
  void push(std::string message);
  void push_oversize();  // the transport reports one dropped oversize message
  void close_input();    // the session then reads eof
  std::size_t unread() const;  // pushed but not yet read by the session
  std::size_t reads() const;   // messages the session has read so far

  // Session -> client.
  // The next written message, or nullopt when none arrives within timeout or the pipe closed.
  boost::asio::awaitable<std::optional<std::string>> async_next(std::chrono::milliseconds timeout);
  std::size_t written() const;  // messages written and not yet taken
  std::optional<std::string> take();  // the oldest written message, if any (no waiting)

  // While paused, the session's writes do not complete.
  void pause_writes(bool paused);

  bool closed() const;           // the session closed its end
  close_code closed_with() const;

  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace exai::gateway
