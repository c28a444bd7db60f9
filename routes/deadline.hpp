// The one deadline helper (house-style 9): Boost 1.81 has no cancel_after, so one steady_timer
// per call cancels the operation at the deadline (through a cancellation signal of its own; see
// deadline.cpp for why not `||`). A timeout is its own error (errc::timeout), distinct from a
// cancellation (errc::cancelled).
#pragma once

#include "codecs/error.hpp"
#include "routes/tool_backend.hpp"

#include <boost/asio/awaitable.hpp>

namespace exai::routes {

// Runs op until it completes or the absolute deadline passes, whichever is first.
// - deadline passed first: op is cancelled (terminal) and awaited to its end, then errc::timeout.
// - op completed first: its result.
// - an exception escaping op becomes errc::internal (at once: the timer holds nothing open).
// Cancellation contract: a cancellation of the awaiting coroutine's slot (terminal) is forwarded
// to op; the result is then op's (normally errc::cancelled), never errc::timeout.
// Instantiated in deadline.cpp for the result types the routes use.
template <class T>
boost::asio::awaitable<codecs::result<T>> async_with_deadline(
    boost::asio::awaitable<codecs::result<T>> op, clock::time_point deadline);

}  // namespace exai::routes
