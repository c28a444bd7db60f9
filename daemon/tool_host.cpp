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

#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/redirect_error.hpp>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <variant>

#include <sys/resource.h>
#include <unistd.h>

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

// A few threads taking jobs in arrival order, started as jobs come (up to `max`). A job queued
// when the workers are destroyed is dropped unrun; the destructor joins the threads.
class cpu_workers {
 public:
  cpu_workers(std::size_t max, int nice) : max_(std::max<std::size_t>(1, max)), nice_(nice) {}
  ~cpu_workers() {
    {
      std::lock_guard lk(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  cpu_workers(const cpu_workers&) = delete;
  cpu_workers& operator=(const cpu_workers&) = delete;

  std::size_t capacity() const noexcept { return max_; }

  void submit(std::function<void()> job) {
    {
      std::lock_guard lk(mu_);
      jobs_.push_back(std::move(job));
      if (idle_ == 0 && threads_.size() < max_) threads_.emplace_back([this] { run(); });
    }
    cv_.notify_one();
  }

 private:
  void run() {
    // Linux applies a nice value per thread: the event loops keep precedence over this work.
    if (nice_ > 0) (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), nice_);
    std::unique_lock lk(mu_);
    for (;;) {
      ++idle_;
      cv_.wait(lk, [this] { return stopping_ || !jobs_.empty(); });
      --idle_;
      if (stopping_) return;
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lk.unlock();
      job();
      job = nullptr;  // what it captured goes outside the lock
      lk.lock();
    }
  }

  const std::size_t max_;
  const int nice_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  std::size_t idle_ = 0;
  bool stopping_ = false;
};

// The awaiting side of one offloaded job; only the awaiting coroutine owns it (the worker holds a
// weak reference and wakes it through a handler posted to the awaiting executor).
struct offload_wait {
  explicit offload_wait(const asio::any_io_executor& ex) : timer(ex) {}
  asio::steady_timer timer;
  bool done = false;
};

// async_offload's body. `stop` is set when the awaiting coroutine is cancelled: a job that has
// not started yet is then skipped.
asio::awaitable<bool> offload(cpu_workers& workers, std::function<void()> work,
                              std::shared_ptr<std::atomic<bool>> stop) {
  auto cs = co_await asio::this_coro::cancellation_state;
  if (cs.cancelled() != asio::cancellation_type::none) {
    stop->store(true);
    co_return false;
  }
  auto ex = co_await asio::this_coro::executor;
  auto wait = std::make_shared<offload_wait>(ex);
  workers.submit([work = std::move(work), stop, weak = std::weak_ptr<offload_wait>(wait),
                  back = asio::prefer(ex, asio::execution::outstanding_work.tracked)]() mutable {
    if (!stop->load()) work();
    asio::post(back, [weak] {
      if (auto w = weak.lock()) {
        w->done = true;
        w->timer.cancel();
      }
    });
  });
  while (!wait->done) {
    wait->timer.expires_at(clock::time_point::max());
    boost::system::error_code ec;
    co_await wait->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!wait->done && cs.cancelled() != asio::cancellation_type::none) {
      stop->store(true);
      co_return false;
    }
  }
  co_return true;
}

// What a handler run produced. The handler's exceptions are caught here, so a tool that throws
// is a tool-level failure with its message (never an error of the deadline helper).
struct run_outcome {
  std::optional<codecs::tool_result> result;
  std::exception_ptr failure;
};

// Never an error: the result type is the one net::async_with_deadline races.
// A CPU-bound body's arguments and outcome, shared with the worker that runs it.
struct cpu_call {
  json::object args;
  std::optional<codecs::tool_result> result;
  std::exception_ptr failure;
};

// Neither a result nor a failure when cancelled (or past the deadline) before the body finished:
// the caller reports the cancellation or the timeout.
asio::awaitable<codecs::result<run_outcome>> run_guarded(cpu_workers& workers,
                                                         std::shared_ptr<const entry> e,
                                                         json::object args, tool_context ctx) {
  run_outcome out;
  try {
    if (e->spec.cpu_handler) {
      auto call = std::make_shared<cpu_call>();
      call->args = std::move(args);
      auto stop = std::make_shared<std::atomic<bool>>(false);
      // Built in its own statement: g++ 12 mishandles a temporary of this kind inside a
      // co_await expression (it destroys the captured state too early).
      std::function<void()> work = [call, e, stop] {
        try {
          call->result = e->spec.cpu_handler(std::move(call->args), cpu_control(*stop));
        } catch (...) {
          call->failure = std::current_exception();
        }
      };
      const bool ran = co_await offload(workers, std::move(work), stop);
      if (ran) {
        out.result = std::move(call->result);
        out.failure = call->failure;
      }
    } else {
      out.result = co_await e->spec.handler(std::move(args), std::move(ctx));
    }
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
  // Last member: destroyed (threads joined) first, while everything a job may use still exists.
  std::unique_ptr<cpu_workers> workers;

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
  impl_->workers = std::make_unique<cpu_workers>(impl_->opts.cpu_workers, impl_->opts.cpu_worker_nice);
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
  if (!spec.handler && !spec.cpu_handler)
    throw std::invalid_argument("tool '" + spec.name + "' has no handler");
  if (spec.handler && spec.cpu_handler)
    throw std::invalid_argument("tool '" + spec.name + "' has two handlers");
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

tool_host::call_traits tool_host::traits(std::string_view name) const {
  auto e = impl_->find(normalize_tool_name(name));
  if (!e) return {};
  return {e->spec.call_timeout, static_cast<bool>(e->spec.cpu_handler)};
}

std::size_t tool_host::cpu_worker_count() const noexcept { return impl_->workers->capacity(); }

asio::awaitable<bool> tool_host::async_offload(std::function<void()> work) {
  return offload(*impl_->workers, std::move(work), std::make_shared<std::atomic<bool>>(false));
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
    auto ran = co_await run_guarded(*impl_->workers, e, std::move(args.as_object()), std::move(ctx));
    out = std::move(*ran);
  } else {
    const auto deadline = ctx.deadline;  // ctx moves into the call
    auto raced = co_await net::async_with_deadline(
        run_guarded(*impl_->workers, e, std::move(args.as_object()), std::move(ctx)), deadline);
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
