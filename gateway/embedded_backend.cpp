// tool_backend over the in-process tool host (gateway/embedded_backend.hpp).
#include "gateway/embedded_backend.hpp"

#include "daemon/models/services.hpp"
#include "routes/deadline.hpp"

#include <utility>

namespace exai::gateway {

namespace {
daemon::tool_host::options host_options(boost::asio::any_io_executor ex, std::vector<std::string> profiles) {
  daemon::tool_host::options o;
  o.profiles = std::move(profiles);
  o.models = daemon::models::services_from_environment(std::move(ex));
  o.server_name = "exai-gateway";
  o.filter = daemon::profiles::tool_filter::from_environment();
  return o;
}
}  // namespace

embedded_backend::embedded_backend(boost::asio::any_io_executor ex, std::vector<std::string> profiles)
    : host_(host_options(std::move(ex), std::move(profiles))) {}

boost::asio::awaitable<codecs::result<boost::json::array>> embedded_backend::async_list_tools() {
  co_return host_.list();
}

boost::asio::awaitable<codecs::result<codecs::tool_result>> embedded_backend::async_call_tool(
    std::string name, boost::json::object arguments, routes::call_context ctx) {
  daemon::tool_context tc;
  // The deadline is raced here, once (the backend's deadline contract); the host runs without a
  // timer of its own and is stopped through the awaiting coroutine's slot.
  tc.deadline = std::chrono::steady_clock::time_point::max();
  tc.progress = std::move(ctx.progress);
  co_return co_await routes::async_with_deadline(
      host_.async_call(std::move(name), std::move(arguments), std::move(tc)), ctx.deadline);
}

}  // namespace exai::gateway
