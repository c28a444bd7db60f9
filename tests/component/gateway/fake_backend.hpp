// A scripted tool_backend for session and route tests: instant, slow (cancellable, optionally
// with a large result), progress reporting and failing tools, and a switch that makes the backend unavailable.
#pragma once

#include "routes/deadline.hpp"
#include "routes/tool_backend.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace exai::test {

class fake_backend final : public routes::tool_backend {
 public:
  bool down = false;
  int calls = 0, cancelled = 0, completed = 0;
  std::vector<std::string> tool_names = {"echo", "slow", "progress", "broken", "structured",
                                         "logs", "needs_sampling"};
  // Values reported by the "progress" tool, in order (each with total 10).
  std::vector<double> progress_values = {1, 2, 2, 1.5, 3};
  std::vector<routes::call_context> contexts;  // one per call, without the progress sink

  boost::asio::awaitable<codecs::result<boost::json::array>> async_list_tools() override {
    if (down) co_return codecs::error(codecs::errc::backend_unavailable, "no daemon connected");
    boost::json::array tools;
    for (const auto& n : tool_names) {
      boost::json::object t;
      t["name"] = n;
      t["description"] = "test tool " + n;
      t["inputSchema"] = boost::json::object{{"type", "object"}};
      if (n == "needs_sampling") {
        t["_meta"] = boost::json::object{
            {"exai/requiredClientCapabilities", boost::json::object{{"sampling", boost::json::object()}}}};
      }
      tools.push_back(std::move(t));
    }
    co_return tools;
  }

  // Ends each call by ctx.deadline, as every backend must (tool_backend's deadline contract).
  boost::asio::awaitable<codecs::result<codecs::tool_result>> async_call_tool(
      std::string name, boost::json::object args, routes::call_context ctx) override {
    const auto deadline = ctx.deadline;
    co_return co_await routes::async_with_deadline(
        call_body(std::move(name), std::move(args), std::move(ctx)), deadline);
  }

  boost::asio::awaitable<codecs::result<codecs::tool_result>> call_body(
      std::string name, boost::json::object args, routes::call_context ctx) {
    namespace asio = boost::asio;
    ++calls;
    routes::call_context copy = ctx;
    copy.progress = nullptr;
    contexts.push_back(copy);
    if (down) co_return codecs::error(codecs::errc::backend_unavailable, "no daemon connected");
    if (name == "echo") {
      ++completed;
      const auto* t = args.if_contains("text");
      co_return codecs::tool_result::text(t && t->is_string() ? std::string(t->get_string()) : "");
    }
    if (name == "slow" || name == "progress") {
      if (name == "progress" && ctx.progress) {
        for (double v : progress_values) {
          codecs::progress_update u;
          u.progress = v;
          u.total = 10;
          u.message = "step";
          ctx.progress(u);
        }
      }
      std::int64_t ms = 0;
      if (const auto* m = args.if_contains("ms"); m && m->is_int64()) ms = m->get_int64();
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
      boost::system::error_code ec;
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        ++cancelled;
        co_return codecs::error(codecs::errc::cancelled, "cancelled");
      }
      ++completed;
      // {"bytes": n}: a large result after the sleep (the session's byte bounds).
      if (const auto* b = args.if_contains("bytes"); b && b->is_int64()) {
        co_return codecs::tool_result::text(std::string(static_cast<std::size_t>(b->get_int64()), 'x'));
      }
      co_return codecs::tool_result::text("slept " + std::to_string(ms));
    }
    if (name == "logs") {  // one log line per level, debug .. error
      if (ctx.progress) {
        for (const char* level : {"debug", "info", "warning", "error"}) {
          codecs::progress_update u;
          u.log_level = level;
          u.log_data = level;
          ctx.progress(u);
        }
      }
      co_return codecs::tool_result::text("logged");
    }
    if (name == "needs_sampling") co_return codecs::tool_result::text("sampled nothing");
    if (name == "broken") co_return codecs::error(codecs::errc::upstream_lost, "daemon went away");
    if (name == "structured") {
      codecs::tool_result r = codecs::tool_result::text("{\"n\":1}");
      r.structured = boost::json::object{{"n", 1}};
      co_return r;
    }
    co_return codecs::error(codecs::errc::tool_not_found, "Tool not found: " + name);
  }

  bool ready() const override { return !down; }
};

}  // namespace exai::test
