// For the model tools' component tests: one tool_host call run to completion on a fresh
// io_context (bounded), optionally cancelled (terminal), with its progress reports handed to
// `progress`.
#pragma once

#include "daemon/tool_host.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace exai::test {

// Receives the function that cancels the call, to call it on an event of the test's choosing
// (e.g. the provider double's first streamed chunk). The cancel is posted, so it lands while the
// tool is suspended (between two chunks), never in the middle of the handler that triggered it.
using cancel_arm = std::function<void(std::function<void()> cancel)>;

// cancel_after: a fixed delay, for tests where the moment does not matter; arm: on an event.
inline codecs::result<codecs::tool_result> call_host(
    daemon::tool_host& host, std::string name, const boost::json::object& args,
    std::function<void(const codecs::progress_update&)> progress,
    std::optional<std::chrono::milliseconds> cancel_after = std::nullopt, const cancel_arm& arm = {}) {
  namespace asio = boost::asio;
  asio::io_context ioc;
  asio::cancellation_signal sig;
  std::optional<codecs::result<codecs::tool_result>> out;
  daemon::tool_context ctx;
  ctx.progress = std::move(progress);
  if (arm) arm([&ioc, &sig] { asio::post(ioc, [&sig] { sig.emit(asio::cancellation_type::terminal); }); });
  asio::co_spawn(ioc, host.async_call(std::move(name), args, std::move(ctx)),
                 asio::bind_cancellation_slot(sig.slot(), [&](std::exception_ptr e, codecs::result<codecs::tool_result> r) {
                   if (e) std::rethrow_exception(e);
                   out = std::move(r);
                 }));
  asio::steady_timer t(ioc);
  if (cancel_after) {
    t.expires_after(*cancel_after);
    t.async_wait([&](boost::system::error_code ec) {
      if (!ec) sig.emit(asio::cancellation_type::terminal);
    });
  }
  ioc.run_for(std::chrono::seconds(20));
  BOOST_REQUIRE(out.has_value());
  return std::move(*out);
}

}  // namespace exai::test
