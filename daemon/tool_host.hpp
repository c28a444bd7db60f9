// The tool host: registry of tools, argument validation, and in-process calls. exai-daemon serves
// it over the op protocol; the gateway links it as its embedded backend (--upstream embedded).
#pragma once

#include "codecs/error.hpp"
#include "codecs/model.hpp"
#include "daemon/profiles.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace exai::daemon {

namespace models {
struct services;
}

struct tool_context {
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  std::function<void(const codecs::progress_update&)> progress;  // may be empty
};

// A tool's body. It receives validated arguments. Cancellation arrives through the awaiting
// coroutine's cancellation slot (async waits inside it are aborted); a cancelled tool returns
// promptly (its result is discarded by the caller).
using tool_handler =
    std::function<boost::asio::awaitable<codecs::tool_result>(boost::json::object, tool_context)>;

// What a CPU-bound tool body sees while it runs on one of the host's worker threads: whether its
// result is still wanted. Once stopped() is true (the call was cancelled or its deadline passed),
// whatever the body returns is discarded, so a long body may check it and return early.
class cpu_control {
 public:
  explicit cpu_control(const std::atomic<bool>& stop) noexcept : stop_(&stop) {}
  bool stopped() const noexcept { return stop_->load(std::memory_order_relaxed); }

 private:
  const std::atomic<bool>* stop_;
};

// A CPU-bound tool body: plain computation, no awaiting. It runs on a worker thread of the host
// (never on the caller's event loop), so it must touch nothing but its arguments and what it owns
// or is thread-safe; the result is handed back to the caller's executor.
using cpu_tool_handler =
    std::function<codecs::tool_result(boost::json::object, const cpu_control&)>;

struct tool_spec {
  std::string name;
  std::string title;
  std::string description;
  boost::json::object input_schema;                 // JSON Schema (draft 7 subset via valijson)
  std::optional<boost::json::object> output_schema{};
  std::optional<boost::json::object> annotations{};
  std::optional<boost::json::object> meta{};        // the listed tool's `_meta`
  // Optional members default to `{}` so tools can be listed with designated initializers.
  // Exactly one of the two bodies: `handler` runs on the caller's executor; `cpu_handler` (for a
  // tool that computes for long without waiting on anything) runs on the host's CPU workers, so
  // small calls on the same event loop keep being answered meanwhile.
  tool_handler handler{};
  cpu_tool_handler cpu_handler{};
  // The tool's own per-call budget, used instead of the server's default call timeout (model
  // tools stream for minutes: daemon/models/services.hpp). Empty: the server's default.
  std::optional<std::chrono::milliseconds> call_timeout{};
  // When set, arguments that fail the schema get this tool's own error result (a tool error the
  // calling model can correct, naming the field) instead of errc::invalid_params.
  std::function<codecs::tool_result(const std::string& problem)> invalid_arguments{};
};

struct host_stats {
  std::uint64_t in_flight = 0, completed = 0, failed = 0, cancelled = 0;
  // Added by the daemon (issue 3): what the `status` tool reports besides the counters.
  std::uint64_t sessions = 0;
  std::chrono::steady_clock::duration uptime{};
};

// "chat_EXAI-WS" -> "chat": the suffixes the reference daemon strips (exactly one of "_EXAI-WS",
// "-EXAI-WS", "_EXAI_WS", "-EXAI_WS", case-sensitive, at the end of the name, once).
std::string normalize_tool_name(std::string_view name);

// The daemon's version ("0.1.0"), as reported by `version`, hello_ack.server and --version.
std::string_view daemon_version() noexcept;

class tool_host {
 public:
  struct options {
    // Names in daemon/profiles.hpp; core is always on, whatever the list says.
    std::vector<std::string> profiles = {std::string(daemon::profiles::core)};
    // The model registry, conversation store and file policy (daemon/models/services.hpp), used
    // by the core tools (listmodels, status, version) and the `models` profile. Null: no provider
    // is configured and every file is refused.
    std::shared_ptr<models::services> models;
    std::string server_name = "exai-daemon";
    // TOOL_PROFILE / ENABLED_TOOLS / DISABLED_TOOLS (profiles.hpp); default: every tool of the
    // profiles above.
    profiles::tool_filter filter;
    // Threads that run CPU-bound work (cpu_handler tools, async_offload) off the callers' event
    // loops, started at the first such call. They run at `cpu_worker_nice` (a Linux per-thread
    // nice value, 0..19; 0 leaves the priority alone) so the event loops keep precedence.
    std::size_t cpu_workers = 2;
    int cpu_worker_nice = 10;
  };

  explicit tool_host(options opts);
  ~tool_host();
  tool_host(const tool_host&) = delete;
  tool_host& operator=(const tool_host&) = delete;

  // Adds or replaces a tool (validators are compiled here, once).
  void add(tool_spec spec);

  // MCP Tool objects, in registration order.
  boost::json::array list() const;

  // Validates arguments against the tool's inputSchema (errc::invalid_params naming the field),
  // then runs the handler. errc::tool_not_found for an unknown name (after stripping suffixes such
  // as "_EXAI-WS" the way the reference daemon does), errc::cancelled when cancelled through the
  // awaiting coroutine's slot, errc::timeout when ctx.deadline passes first.
  boost::asio::awaitable<codecs::result<codecs::tool_result>> async_call(
      std::string name, boost::json::object arguments, tool_context ctx);

  // Runs `work` on one of the host's CPU workers and resumes on the awaiting coroutine's executor
  // when it has finished: true. When the awaiting coroutine is cancelled first (terminal or
  // partial), it resumes at once with false; `work` is then skipped if it has not started, or
  // runs to its end unobserved, so it must own (or share) everything it touches.
  // Until `work` has finished, it counts as outstanding work of the awaiting executor's context
  // (that context's run() does not return for lack of work); the host must outlive it.
  boost::asio::awaitable<bool> async_offload(std::function<void()> work);

  host_stats stats() const;
  // What a caller needs to know of a tool before calling it, in one lookup: its own call budget
  // (tool_spec::call_timeout), if it has one, and whether its body runs on the CPU workers
  // (tool_spec::cpu_handler). An unknown tool has neither.
  struct call_traits {
    std::optional<std::chrono::milliseconds> call_timeout;
    bool cpu_bound = false;
  };
  call_traits traits(std::string_view name) const;
  // How many CPU workers there are: a connection admits that many CPU-bound calls at a time
  // (daemon/connection.hpp).
  std::size_t cpu_worker_count() const noexcept;
  // Sessions currently connected (the daemon server reports these for the `status` tool).
  void session_opened();
  void session_closed();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace exai::daemon
