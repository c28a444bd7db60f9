// The one WebSocket read loop of the client side (gateway listener) and the upstream side (the
// pool's connections): one whole message, frame by frame, into a flat buffer.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/system/error_code.hpp>

namespace exai::net {

// Reads the next whole message of `ws` (a websocket::stream) into `buffer`, which is cleared first,
// calling `on_piece()` after each piece read (for keep-alive bookkeeping: a large message arriving
// slowly is a peer at work). Reads pieces with async_read_some: websocket::stream::async_read
// wraps these same reads in one more composed operation per message. Errors end the stream
// (message_too_big: Beast has already closed with 1009); the caller reads ws.reason() for a close.
// Cancellation: never cancel it (a cancelled websocket read leaves the stream unusable); close the
// stream instead.
template <class WebSocketStream, class OnPiece>
boost::asio::awaitable<boost::system::error_code> async_read_message(
    WebSocketStream& ws, boost::beast::flat_buffer& buffer, OnPiece on_piece) {
  constexpr auto nothrow = boost::asio::as_tuple(boost::asio::use_awaitable);
  buffer.clear();
  do {
    auto [ec, n] = co_await ws.async_read_some(buffer.prepare(ws.read_size_hint(buffer)), nothrow);
    buffer.commit(n);
    if (ec) co_return ec;
    on_piece();
  } while (!ws.is_message_done());
  co_return boost::system::error_code{};
}

}  // namespace exai::net
