// The message-oriented client transport (house-style 4): stdio lines, WebSocket text frames, or an
// in-memory pair in tests. Implementations live in .cpp files. gateway/stream_pump.hpp serves a
// session with one: its read loop reads, and an outbound's writer writes.
#pragma once

#include "gateway/outbound.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace exai::gateway {

class message_transport {
 public:
  virtual ~message_transport() = default;

  virtual boost::asio::any_io_executor get_executor() = 0;

  // The next message; `out` stays valid until the next call. Errors:
  // - codecs::errc::message_too_large: one oversize message was dropped, the stream goes on;
  // - anything else (eof included): the stream is finished.
  // At most one read at a time (the pump's). Never cancelled: a cancelled WebSocket read breaks
  // the stream (toolchain-and-peers.md, coroutine item 5); async_close() ends it instead.
  virtual boost::asio::awaitable<boost::system::error_code> async_read_message(
      std::string_view& out) = 0;

  // Writes one whole message. At most one write at a time (the outbound's writer); `message`
  // must stay valid until it completes.
  virtual boost::asio::awaitable<boost::system::error_code> async_write_message(
      std::string_view message) = 0;

  // Writes several whole messages, in order, as few sends as the transport can (WebSocket: one
  // syscall for the lot, since a syscall per frame dominates the gateway's cost). Same rules
  // as async_write_message; on an error the stream is finished and later messages may be lost.
  // The default writes them one by one (gateway/ws_transport.cpp defines it).
  virtual boost::asio::awaitable<boost::system::error_code> async_write_messages(
      std::span<const std::string> messages);

  // Ends the connection once the writer is done: a close frame for WebSocket (the pending read
  // then completes with an error), stops reading for stdio. Called by the writer only.
  virtual boost::asio::awaitable<void> async_close(close_code code) = 0;

  // Gives up on a pending write the peer does not take (the final flush passed its limit): it
  // completes with an error. The default does nothing (the transport has its own idle timeout).
  virtual void abort_writes() noexcept {}

  // "stdio", "ws", "memory": for logs and the sessions metric.
  virtual std::string_view kind() const noexcept = 0;

  // When the peer has finished sending (eof), may it still receive replies? True for stdio, whose
  // client may close stdin and keep reading stdout (so in-flight calls get a short grace).
  virtual bool replies_after_eof() const noexcept { return false; }
};

}  // namespace exai::gateway
