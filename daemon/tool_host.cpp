// The tool host: registry, one-time schema compilation, validated in-process calls with deadline
// and cancellation, and the call counters behind `status`. Boost.JSON + Asio timers only.
#include "daemon/tool_host.hpp"

#include "daemon/builtin_tools.hpp"
#include "daemon/conformance_tools.hpp"
#include "daemon/models/model_tools.hpp"
#include "daemon/workflow/engine.hpp"
#include "daemon/models/services.hpp"
#include "daemon/profiles.hpp"
#include "daemon/schema_validator.hpp"
#include "net/asio_frame_warning.hpp"
#include "net/deadline.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <variant>

#ifndef EXAI_DAEMON_VERSION
#define EXAI_DAEMON_VERSION "0.0.0"
#endif

namespace exai::daemon {

namespace asio = boost::asio;
namespace json = boost::json;
using codecs::errc;
using clock = std::chrono::steady_clock;

std::string_view daemon_version() noexcept { return EXAI_DAEMON_VERSION; }

std::string normalize_tool_name(std::string_view name) {
  // The reference daemon's list (its router utilities); MCP clients add these aliases.
  static constexpr std::array<std::string_view, 4> suffixes = {"_EXAI-WS", "-EXAI-WS", "_EXAI_WS",
                                                               "-EXAI_WS"};
  for (auto suf : suffixes)
    if (name.size() > suf.size() && name.ends_with(suf))
      return std::string(name.substr(0, name.size() - suf.size()));
  return std::string(name);
}

namespace {

struct entry {
  tool_spec spec;
  schema_validator validator;
  json::object listed;  // the MCP Tool object, built once
};

json::object make_listed(const tool_spec& s) {
  json::object o;
  o["name"] = s.name;
  if (!s.title.empty()) o["title"] = s.title;
  o["description"] = s.description;
  o["inputSchema"] = s.input_schema;
  if (s.output_schema) o["outputSchema"] = *s.output_schema;
  if (s.annotations) o["annotations"] = *s.annotations;
  if (s.meta) o["_meta"] = *s.meta;
  return o;
}

// What a handler run produced. The handler's exceptions are caught here, so a tool that throws
// is a tool-level failure with its message (never an error of the deadline helper).
struct run_outcome {
  std::optional<codecs::tool_result> result;
  std::exception_ptr failure;
};

// Never an error: the result type is the one net::async_with_deadline races.
asio::awaitable<codecs::result<run_outcome>> run_guarded(std::shared_ptr<const entry> e,
                                                         json::object args, tool_context ctx) {
  run_outcome out;
  try {
    out.result = co_await e->spec.handler(std::move(args), std::move(ctx));
  } catch (...) {
    out.failure = std::current_exception();
  }
  co_return out;
}

std::string describe(const std::exception_ptr& p) {
  try {
    std::rethrow_exception(p);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

}  // namespace

struct tool_host::impl {
  options opts;
  clock::time_point started = clock::now();
  mutable std::mutex mu;  // guards `tools` (the gateway may list from another thread)
  std::vector<std::shared_ptr<const entry>> tools;
  std::atomic<std::uint64_t> in_flight{0}, completed{0}, failed{0}, cancelled{0}, sessions{0};

  std::shared_ptr<const entry> find(std::string_view name) const {
    std::lock_guard lk(mu);
    for (const auto& e : tools)
      if (e->spec.name == name) return e;
    return nullptr;
  }
};

tool_host::tool_host(options opts) : impl_(std::make_unique<impl>()) {
  for (const auto& p : opts.profiles)
    if (!profiles::is_known(p))
      throw std::invalid_argument("unknown tool profile '" + p + "' (known: " + profiles::known_list() + ")");
  if (!opts.models) opts.models = std::make_shared<models::services>();
  impl_->opts = std::move(opts);
  // "core" is always on (design.md), whether or not the profile list names it.
  for (auto& spec : builtin::core_tools(*this, impl_->opts.models, impl_->opts.server_name))
    add(std::move(spec));
  const auto& pr = impl_->opts.profiles;
  if (profiles::contains(pr, profiles::models)) {
    auto specs = models::model_tools(impl_->opts.models);
    for (auto& w : workflow::workflow_tools(impl_->opts.models)) specs.push_back(std::move(w));
    for (auto& spec : specs)
      if (impl_->opts.filter.allows(spec.name)) add(std::move(spec));
  }
  if (profiles::contains(pr, profiles::diagnostics))
    for (auto& spec : builtin::diagnostics_tools()) add(std::move(spec));
  if (profiles::contains(pr, profiles::conformance))
    for (auto& spec : conformance::tools()) add(std::move(spec));
}

tool_host::~tool_host() = default;

void tool_host::add(tool_spec spec) {
  if (spec.name.empty()) throw std::invalid_argument("tool name must not be empty");
  if (!spec.handler) throw std::invalid_argument("tool '" + spec.name + "' has no handler");
  auto compiled = schema_validator::compile(spec.input_schema);
  if (!compiled)
    throw std::invalid_argument("tool '" + spec.name + "': " + compiled.error().message);
  auto listed = make_listed(spec);
  auto e = std::make_shared<const entry>(
      entry{std::move(spec), std::move(*compiled), std::move(listed)});
  std::lock_guard lk(impl_->mu);
  auto it = std::find_if(impl_->tools.begin(), impl_->tools.end(),
                         [&](const auto& t) { return t->spec.name == e->spec.name; });
  if (it != impl_->tools.end())
    *it = std::move(e);  // replacing keeps the registration position; running calls keep the old one
  else
    impl_->tools.push_back(std::move(e));
}

json::array tool_host::list() const {
  json::array out;
  std::lock_guard lk(impl_->mu);
  out.reserve(impl_->tools.size());
  for (const auto& e : impl_->tools) out.push_back(e->listed);
  return out;
}

host_stats tool_host::stats() const {
  host_stats s;
  s.in_flight = impl_->in_flight.load();
  s.completed = impl_->completed.load();
  s.failed = impl_->failed.load();
  s.cancelled = impl_->cancelled.load();
  s.sessions = impl_->sessions.load();
  s.uptime = clock::now() - impl_->started;
  return s;
}

std::optional<std::chrono::milliseconds> tool_host::call_timeout(std::string_view name) const {
  auto e = impl_->find(normalize_tool_name(name));
  return e ? e->spec.call_timeout : std::nullopt;
}

void tool_host::session_opened() { ++impl_->sessions; }
void tool_host::session_closed() {
  auto cur = impl_->sessions.load();
  while (cur > 0 && !impl_->sessions.compare_exchange_weak(cur, cur - 1)) {
  }
}

EXAI_ASIO_FRAME_WARNING_OFF  // a GCC false positive at -O2, see net/asio_frame_warning.hpp
asio::awaitable<codecs::result<codecs::tool_result>> tool_host::async_call(std::string name,
                                                                           json::object arguments,
                                                                           tool_context ctx) {
  auto e = impl_->find(normalize_tool_name(name));
  if (!e) co_return codecs::error(errc::tool_not_found, "Tool not found: " + name);

  // valijson adapts json::value only: move in and out rather than copy a large argument.
  json::value args(std::move(arguments));
  if (auto problem = e->validator.validate(args)) {
    if (e->spec.invalid_arguments) co_return e->spec.invalid_arguments(*problem);
    co_return codecs::error(errc::invalid_params, std::move(*problem));
  }

  auto cs = co_await asio::this_coro::cancellation_state;
  if (cs.cancelled() != asio::cancellation_type::none) {
    ++impl_->cancelled;
    co_return codecs::error(errc::cancelled, "cancelled");
  }
  if (ctx.deadline <= clock::now()) {
    ++impl_->failed;
    co_return codecs::error(errc::timeout, "deadline passed before '" + e->spec.name + "' started");
  }

  // Counters: completed = handler returned a result without is_error; failed = is_error result,
  // exception or timeout; cancelled = stopped through the slot. Unknown tools and invalid
  // arguments never reach the handler and are not counted.
  ++impl_->in_flight;
  struct in_flight_guard {
    std::atomic<std::uint64_t>& n;
    ~in_flight_guard() { --n; }
  } guard{impl_->in_flight};

  run_outcome out;
  bool timed_out = false;
  std::optional<std::string> race_failure;  // the helper's own error, other than a timeout
  if (ctx.deadline == clock::time_point::max()) {  // no timer at all (the gateway's routes race it)
    auto ran = co_await run_guarded(e, std::move(args.as_object()), std::move(ctx));
    out = std::move(*ran);
  } else {
    const auto deadline = ctx.deadline;  // ctx moves into the call
    auto raced = co_await net::async_with_deadline(
        run_guarded(e, std::move(args.as_object()), std::move(ctx)), deadline);
    if (raced) {
      out = std::move(*raced);
    } else if (raced.error().code == errc::timeout) {
      timed_out = true;
    } else {
      race_failure = raced.error().message;
    }
  }

  if (cs.cancelled() != asio::cancellation_type::none) {
    ++impl_->cancelled;  // whatever the tool returned after the cancel is discarded (tool_context)
    co_return codecs::error(errc::cancelled, "cancelled");
  }
  if (timed_out) {
    ++impl_->failed;
    co_return codecs::error(errc::timeout, "tool '" + e->spec.name + "' did not finish before its deadline");
  }
  if (race_failure || out.failure || !out.result) {
    ++impl_->failed;
    std::string why = race_failure ? *race_failure
                      : out.failure ? describe(out.failure)
                                    : std::string("no result");
    // A tool that throws is a tool-level failure (mcp-server-rules.md, Tools): a model can read it.
    co_return codecs::tool_result::text("tool '" + e->spec.name + "' failed: " + why, true);
  }
  if (out.result->is_error)
    ++impl_->failed;
  else
    ++impl_->completed;
  co_return std::move(*out.result);
}
EXAI_ASIO_FRAME_WARNING_ON

}  // namespace exai::daemon
