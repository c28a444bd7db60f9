// The deadline race (routes/deadline.hpp): a steady_timer against the operation with `||`, the
// only place in the project that does this, instantiated for the result types routes need.
#include "routes/deadline.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <exception>
#include <variant>

namespace exai::routes {
namespace {

namespace asio = boost::asio;

// Turns exceptions into results: with `||` (wait_for_one_success) a throwing side would otherwise
// leave the race waiting for the timer until the deadline.
template <class T>
asio::awaitable<codecs::result<T>> guarded(asio::awaitable<codecs::result<T>> op) {
  try {
    co_return co_await std::move(op);
  } catch (const boost::system::system_error& e) {
    if (e.code() == asio::error::operation_aborted) {
      co_return codecs::error(codecs::errc::cancelled, "cancelled");
    }
    co_return codecs::error(codecs::errc::internal, e.what());
  } catch (const std::exception& e) {
    co_return codecs::error(codecs::errc::internal, e.what());
  }
}

// The timer side of the race: true when the deadline passed, false when the wait was cancelled
// (the operation won, or an outer cancellation). No exception either way: a throw per call would
// cost more than the call (stack unwinding on every successful request).
asio::awaitable<bool> deadline_passed(asio::steady_timer& timer) {
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec;
}

}  // namespace

template <class T>
asio::awaitable<codecs::result<T>> async_with_deadline(asio::awaitable<codecs::result<T>> op,
                                                       clock::time_point deadline) {
  using namespace asio::experimental::awaitable_operators;
  if (deadline == clock::time_point::max()) co_return co_await guarded(std::move(op));
  if (clock::now() >= deadline) {
    co_return codecs::error(codecs::errc::timeout, "deadline passed before the call started");
  }
  asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
  try {
    auto winner = co_await (guarded(std::move(op)) || deadline_passed(timer));
    if (winner.index() == 0) co_return std::move(std::get<0>(winner));
    // The timer finished first: a timeout, or (not fired) an outer cancellation that reached the
    // timer before the operation had unwound.
    if (std::get<1>(winner)) co_return codecs::error(codecs::errc::timeout, "deadline passed");
    co_return codecs::error(codecs::errc::cancelled, "cancelled");
  } catch (const asio::multiple_exceptions&) {
    // Both sides aborted: only an outer cancellation does that (toolchain gotcha 3).
    co_return codecs::error(codecs::errc::cancelled, "cancelled");
  } catch (const boost::system::system_error& e) {
    if (e.code() == asio::error::operation_aborted) {
      co_return codecs::error(codecs::errc::cancelled, "cancelled");
    }
    throw;
  }
}

template asio::awaitable<codecs::result<codecs::tool_result>> async_with_deadline(
    asio::awaitable<codecs::result<codecs::tool_result>>, clock::time_point);
template asio::awaitable<codecs::result<boost::json::value>> async_with_deadline(
    asio::awaitable<codecs::result<boost::json::value>>, clock::time_point);
template asio::awaitable<codecs::result<boost::json::array>> async_with_deadline(
    asio::awaitable<codecs::result<boost::json::array>>, clock::time_point);

}  // namespace exai::routes
