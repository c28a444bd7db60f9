// The one deadline helper (house-style 9): Boost 1.81 has no cancel_after, so a steady_timer is
// raced against the operation with experimental::awaitable_operators `||`. A timeout is its own
// error (errc::timeout), distinct from a cancellation (errc::cancelled).
#pragma once

#include "codecs/error.hpp"
#include "routes/tool_backend.hpp"

#include <boost/asio/awaitable.hpp>

namespace exai::routes {

// Runs op until it completes or the absolute deadline passes, whichever is first.
// - deadline passed first: op is cancelled (terminal) and awaited to its end, then errc::timeout.
// - op completed first: its result.
// - an exception escaping op becomes errc::internal (so the race never waits on the timer for a
//   failed operation).
// Cancellation contract: a cancellation of the awaiting coroutine's slot is forwarded to op (and
// the timer); the result is then op's (normally errc::cancelled), or errc::cancelled when both
// sides were aborted (asio::multiple_exceptions, toolchain gotcha 3).
// Instantiated in deadline.cpp for the result types the routes use.
template <class T>
boost::asio::awaitable<codecs::result<T>> async_with_deadline(
    boost::asio::awaitable<codecs::result<T>> op, clock::time_point deadline);

}  // namespace exai::routes
