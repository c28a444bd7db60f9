// The embedded backend (`--upstream embedded`): the daemon's tool host in process, behind the
// routes' tool_backend interface. Always ready; no sockets.
#pragma once

#include "daemon/tool_host.hpp"
#include "routes/tool_backend.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <string>
#include <vector>

namespace exai::gateway {

class embedded_backend final : public routes::tool_backend {
 public:
  // Profiles as in daemon/profiles.hpp. The model tools' providers (keys, URLs from the
  // environment) run their I/O on `ex`.
  embedded_backend(boost::asio::any_io_executor ex, std::vector<std::string> profiles);

  boost::asio::awaitable<codecs::result<boost::json::array>> async_list_tools() override;
  boost::asio::awaitable<codecs::result<codecs::tool_result>> async_call_tool(
      std::string name, boost::json::object arguments, routes::call_context ctx) override;
  bool ready() const override { return true; }

  daemon::tool_host& host() noexcept { return host_; }

 private:
  daemon::tool_host host_;
};

}  // namespace exai::gateway
