// The one deadline helper (house-style 9): Boost 1.81 has no cancel_after, so one steady_timer
// per call cancels the operation at the deadline, through a cancellation signal of its own. A
// timeout is its own error (errc::timeout), distinct from a cancellation (errc::cancelled). Used by
// the routes (routes/deadline.hpp) and the tool host (daemon/tool_host.cpp).
#pragma once

#include "codecs/error.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <exception>
#include <memory>

namespace exai::net {

// Runs op until it completes or the absolute deadline passes, whichever is first.
// - deadline passed first: op is cancelled (terminal) and awaited to its end, then errc::timeout.
// - op completed first: its result.
// - an exception escaping op becomes errc::internal (at once: the timer holds nothing open).
// - deadline max(): op is awaited directly, with no timer.
// Cancellation contract: a cancellation of the awaiting coroutine's slot (terminal) is forwarded
// to op; the result is then op's (normally errc::cancelled), never errc::timeout.
template <class T>
boost::asio::awaitable<codecs::result<T>> async_with_deadline(
    boost::asio::awaitable<codecs::result<T>> op, std::chrono::steady_clock::time_point deadline);

namespace deadline_detail {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

// Turns exceptions into results (an exception escaping the operation is errc::internal).
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

// One race. Shared by the awaiting coroutine, the timer's handler (which may still be queued
// after the race is over) and the forwarder of the outer cancellation.
struct race_state {
  race_state(const asio::any_io_executor& ex, clock::time_point deadline) : timer(ex, deadline) {}
  asio::steady_timer timer;
  asio::cancellation_signal signal;  // the operation's cancellation slot
  bool done = false;
  bool timed_out = false;
  bool outer_cancelled = false;
};

}  // namespace deadline_detail

// Not `timer || op` (experimental::awaitable_operators): that spawns two coroutines and a
// parallel group per call, ~11 % of the gateway's CPU when profiled. Here the operation is
// spawned once, bound to our own signal; the timer's plain handler emits on it at the deadline,
// and a handler in the awaiting coroutine's slot forwards an outer cancellation.
template <class T>
boost::asio::awaitable<codecs::result<T>> async_with_deadline(
    boost::asio::awaitable<codecs::result<T>> op, std::chrono::steady_clock::time_point deadline) {
  namespace asio = boost::asio;
  using clock = std::chrono::steady_clock;
  using deadline_detail::guarded;
  using deadline_detail::race_state;
  if (deadline == clock::time_point::max()) co_return co_await guarded(std::move(op));
  if (clock::now() >= deadline) {
    co_return codecs::error(codecs::errc::timeout, "deadline passed before the call started");
  }
  const auto ex = co_await asio::this_coro::executor;
  auto outer = co_await asio::this_coro::cancellation_state;
  if (outer.cancelled() != asio::cancellation_type::none) {
    co_return codecs::error(codecs::errc::cancelled, "cancelled");
  }
  auto st = std::make_shared<race_state>(ex, deadline);
  st->timer.async_wait([st](const boost::system::error_code& ec) {
    if (ec || st->done || st->outer_cancelled) return;
    st->timed_out = true;
    st->signal.emit(asio::cancellation_type::terminal);
  });
  // While we await the operation through our own slot, the coroutine's slot is free: an outer
  // cancellation lands here and goes on to the operation. Asio clears this slot when the
  // awaited co_spawn completes (and with it the handler's reference to `st`).
  auto slot = outer.slot();
  if (slot.is_connected()) {
    slot.assign([st](asio::cancellation_type type) {
      if (st->done) return;
      st->outer_cancelled = true;
      st->signal.emit(type);
    });
  }
  codecs::result<T> r = codecs::error(codecs::errc::internal, "no result");
  try {
    r = co_await asio::co_spawn(ex, std::move(op),
                                asio::bind_cancellation_slot(st->signal.slot(), asio::use_awaitable));
  } catch (const boost::system::system_error& e) {
    r = e.code() == asio::error::operation_aborted
            ? codecs::result<T>(codecs::error(codecs::errc::cancelled, "cancelled"))
            : codecs::result<T>(codecs::error(codecs::errc::internal, e.what()));
  } catch (const std::exception& e) {
    r = codecs::error(codecs::errc::internal, e.what());
  }
  st->done = true;
  st->timer.cancel();
  slot.clear();
  // The deadline passed first: the operation was cancelled and has ended; a timeout, whatever
  // it answered. An outer cancellation first: the operation's own answer (normally cancelled).
  if (st->timed_out) co_return codecs::error(codecs::errc::timeout, "deadline passed");
  co_return r;
}

}  // namespace exai::net
