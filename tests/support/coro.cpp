// Waiting inside test coroutines (tests/support/coro.hpp).
#include "tests/support/coro.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace exai::test {

namespace asio = boost::asio;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(nothrow);
}

asio::awaitable<bool> wait_until(std::function<bool()> pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  asio::steady_timer t(co_await asio::this_coro::executor);
  for (;;) {
    if (pred()) co_return true;
    if (std::chrono::steady_clock::now() >= deadline) co_return false;
    t.expires_after(std::chrono::milliseconds(2));
    co_await t.async_wait(nothrow);
  }
}

}  // namespace exai::test
