// The pool's WebSocket transport to a daemon (house-style 4): the pool's connections talk through
// it, so Beast's websocket coroutines are instantiated in one TU (upstream_transport.cpp) and the
// connection logic can be driven by an in-memory transport in component tests.
// It shares its read loop (net/ws_read.hpp) and batched write (net::async_write_corked) with the
// client side's gateway::message_transport, but not the interface: an upstream transport dials
// and reconnects (async_connect), reports the daemon's close code and keep-alive verdicts, and is
// closed abruptly; a client transport is accepted, serves stdio as well as WebSocket, and ends
// with a close code of ours after its replies are written.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace exai::gateway::pool {

struct ws_connect_params {
  std::string host;
  std::uint16_t port = 0;
  std::string path = "/";
  std::chrono::milliseconds connect_timeout{3000};  // resolve + TCP connect + upgrade
  std::chrono::milliseconds idle_timeout{30000};    // keep-alive: ping at half, drop at full
  std::chrono::milliseconds busy_timeout{0};        // the same while set_busy(true); 0: off
  std::size_t read_limit = 64u * 1024 * 1024;
};

// One WebSocket connection attempt. One reader and one writer at a time (house-style 5).
class upstream_transport {
 public:
  virtual ~upstream_transport() = default;

  // Resolves, connects and upgrades within connect_timeout; sets the read limit and the
  // keep-alive timeout (pings at idle_timeout/2, closed after idle_timeout without a frame).
  // Cancellation: terminal; the transport is then unusable.
  virtual boost::asio::awaitable<boost::system::error_code> async_connect(ws_connect_params p) = 0;

  // The next message (text or binary): `out` views it until the next read (no copy of a large
  // result on the way to the parser). Keep one pending at all times while connected
  // so control frames (pongs, close) are processed (never race it with a timer:
  // toolchain-and-peers.md, coroutine item 5). An error ends the connection; close_code() says
  // whether the peer sent a close frame.
  virtual boost::asio::awaitable<boost::system::error_code> async_read(std::string_view& out) = 0;

  // Writes one text message; `text` must stay alive until the operation completes.
  virtual boost::asio::awaitable<boost::system::error_code> async_write(const std::string& text) = 0;

  // Writes several text messages in order, as one send where the transport can (a
  // syscall per frame was the gateway's largest cost); the texts must stay alive until it
  // completes. An error ends the connection. The default writes them one by one.
  virtual boost::asio::awaitable<boost::system::error_code> async_write_batch(
      std::span<const std::string> texts);

  // Whether answers are awaited (calls outstanding): busy_timeout applies (net::ws_keepalive).
  virtual void set_busy(bool) noexcept {}
  // The connection was closed because the daemon stayed silent past the idle or busy timeout.
  virtual bool timed_out() const noexcept { return false; }

  // Abrupt close: pending operations complete with errors. Idempotent.
  virtual void close() noexcept = 0;

  // The peer's close code once a read failed because it closed (1008, 1011, 4003, ...).
  virtual std::optional<std::uint16_t> close_code() const noexcept = 0;
};

using transport_factory = std::function<std::unique_ptr<upstream_transport>(boost::asio::any_io_executor)>;

// The real one: Beast websocket over TCP.
std::unique_ptr<upstream_transport> make_beast_transport(boost::asio::any_io_executor ex);

}  // namespace exai::gateway::pool
