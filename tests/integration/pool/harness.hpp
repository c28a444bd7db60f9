// Integration harness for the daemon pool (issue 5): the pool runs in-process on a test
// io_context and talks over loopback to real child processes (exai-daemon, or the test double of
// the reference daemon). Every wait is bounded.
#pragma once

#include "gateway/pool/daemon_pool.hpp"
#include "tests/support/coro.hpp"
#include "tests/support/process.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace exai::gateway::pool::itest {

namespace asio = boost::asio;
namespace json = boost::json;
using ms = std::chrono::milliseconds;
using steady = std::chrono::steady_clock;
using call_result = codecs::result<codecs::tool_result>;

// A daemon child process on 127.0.0.1.
struct peer {
  test::child_process proc;
  std::uint16_t port = 0;
  std::string describe() const;
};

// exai-daemon --tools core,diagnostics [--compat reference] on `port` (0: a free one).
peer start_exai_daemon(bool compat_reference, std::uint16_t port = 0,
                       std::vector<std::string> extra_args = {});
// exai-fake-reference-daemon (test double) with extra flags, e.g. {"--max-per-ip","3"}.
peer start_fake_reference(std::vector<std::string> extra_args = {}, std::uint16_t port = 0);

// Options for tests: one endpoint on 127.0.0.1:port, quick reconnects.
pool_options test_options(std::uint16_t port, std::size_t connections = 4);

// Runs body on io until it completes (rethrowing what it threw) or `limit` passes (test failure).
// Then lets the io_context finish the pool's own coroutines (bounded).
void run_bounded(asio::io_context& io, asio::awaitable<void> body, std::chrono::seconds limit);

using test::sleep_for;
using test::wait_until;

// One call with an optional relative deadline.
asio::awaitable<call_result> call(daemon_pool& pool, std::string tool, json::object args,
                                  std::optional<ms> budget = std::nullopt,
                                  routes::progress_sink progress = {});

// The first text block of a result ("" when none).
std::string text_of(const codecs::tool_result& r);
// A short description of a result for failure messages.
std::string describe(const call_result& r);

// The daemon's `status` counters (exai-daemon: structured content; the fake: JSON text).
asio::awaitable<json::object> daemon_status(daemon_pool& pool);

// Many calls in flight at once, each recorded with its completion time.
class fanout {
 public:
  struct record {
    std::optional<call_result> result;
    steady::time_point started{};
    steady::time_point finished{};
    std::string expected_text;
  };

  fanout(asio::any_io_executor ex, std::size_t n);
  // Starts call i; `cancel` (optional) may later emit to cancel it.
  void launch(std::size_t i, daemon_pool& pool, std::string tool, json::object args,
              std::optional<ms> budget = std::nullopt, asio::cancellation_signal* cancel = nullptr);
  // Waits until every launched call completed; false on timeout.
  asio::awaitable<bool> wait_all(ms timeout);
  std::size_t pending() const { return pending_; }
  std::vector<record>& records() { return records_; }

 private:
  static asio::awaitable<void> one(fanout* self, std::size_t i, daemon_pool* pool, std::string tool,
                                   json::object args, std::optional<ms> budget);
  asio::any_io_executor ex_;
  std::vector<record> records_;
  std::size_t pending_ = 0;
  asio::steady_timer done_;
};

}  // namespace exai::gateway::pool::itest
