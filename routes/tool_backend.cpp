// The default of tool_backend::async_wait_tools_changed (routes/tool_backend.hpp): a tool set that
// never changes.
#include "routes/tool_backend.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace exai::routes {

boost::asio::awaitable<std::uint64_t> tool_backend::async_wait_tools_changed(std::uint64_t seen) {
  namespace asio = boost::asio;
  asio::steady_timer never(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
  co_await never.async_wait(asio::use_awaitable);  // only cancellation ends it (it throws)
  co_return seen;
}

}  // namespace exai::routes
