// The daemon pool's dispatch side: admission into a bounded FIFO, least-loaded
// dispatch, the per-call deadline and cancellation, the cached tool list, and shutdown.
// Connections (connection.cpp) own the sockets; nothing here touches one.
#include "gateway/pool/pool_impl.hpp"

#include "net/asio_frame_warning.hpp"
#include "observability/log.hpp"
#include "observability/metric_names.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace exai::gateway::pool {

namespace detail {

namespace asio = boost::asio;
namespace json = boost::json;
namespace op = codecs::op;
using codecs::errc;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
// How long a 1008 refusal lowers a serial address's cap before the configured cap is tried again.
constexpr std::chrono::seconds refusal_hold(30);

namespace {
bool coroutine_is_cancelled(const asio::cancellation_state& cs) {
  return cs.cancelled() != asio::cancellation_type::none;
}

// `outcome` of the per-call log record: the session's values, plus "lost" for a
// daemon connection that dropped under the call.
std::string_view outcome_name(const codecs::result<codecs::tool_result>& r) {
  if (r) return r->is_error ? "error" : "ok";
  switch (r.error().code) {
    case errc::timeout: return "timeout";
    case errc::cancelled: return "cancelled";
    case errc::upstream_lost: return "lost";
    default: return "error";
  }
}

std::mt19937_64 jitter_engine() {
  std::random_device rd;
  return std::mt19937_64((std::uint64_t(rd()) << 32) ^ rd());
}
}  // namespace

pool_impl::pool_impl(asio::any_io_executor ex, pool_options opts, transport_factory factory)
    : ex_(std::move(ex)),
      opts_(std::move(opts)),
      factory_(std::move(factory)),
      jitter_rng_(jitter_engine()),
      tools_changed_(ex_, clock::time_point::max()),
      all_stopped_(ex_) {
  upstream_max_ = opts_.upstream_max_message;
  namespace n = obs::names;
  auto& reg = obs::metrics();
  m_connecting_ = &reg.get_gauge(n::upstream_connections.name, n::upstream_connections.help,
                                 {{std::string(n::label_state), std::string(n::state_connecting)}});
  m_ready_ = &reg.get_gauge(n::upstream_connections.name, n::upstream_connections.help,
                            {{std::string(n::label_state), std::string(n::state_ready)}});
  m_backoff_ = &reg.get_gauge(n::upstream_connections.name, n::upstream_connections.help,
                              {{std::string(n::label_state), std::string(n::state_backoff)}});
  m_queue_ = &reg.get_gauge(n::queue_depth.name, n::queue_depth.help);
  m_reconnects_ = &reg.get_counter(n::upstream_reconnects_total.name, n::upstream_reconnects_total.help);
  m_late_ = &reg.get_counter(n::late_replies_dropped_total.name, n::late_replies_dropped_total.help);

  for (const auto& ep : opts_.endpoints) {
    endpoint_state s;
    s.ep = ep;
    s.cap = opts_.max_serial_connections;
    eps_.push_back(std::move(s));
  }
}

void pool_impl::spawn(std::size_t i) {
  upstream_connection& c = *conns_[i];
  c.set_running(true);
  ++running_;
  asio::co_spawn(ex_, c.run(), [self = shared_from_this(), i](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        EXAI_LOG(error, "pool", "upstream connection task failed", {"what", x.what()});
      } catch (...) {
      }
    }
    self->conns_[i]->set_running(false);
    if (--self->running_ == 0) self->all_stopped_.cancel();
  });
}

void pool_impl::start() {
  if (started_) return;
  started_ = true;
  no_ready_since_ = clock::now();
  for (std::size_t e = 0; e < eps_.size(); ++e) {
    for (std::size_t k = 0; k < std::max<std::size_t>(opts_.connections_per_endpoint, 1); ++k) {
      const std::size_t i = conns_.size();
      conns_.push_back(std::make_unique<upstream_connection>(
          *this, e, "ep" + std::to_string(e) + "/c" + std::to_string(k)));
      eps_[e].conns.push_back(i);
      spawn(i);
    }
  }
  EXAI_LOG(info, "pool", "daemon pool started", {"endpoints", eps_.size()}, {"connections", conns_.size()});
}

void pool_impl::fail_queued(errc code, const char* message) {
  auto q = std::move(queue_);
  queue_.clear();
  for (auto& c : q) {
    if (c->phase != call_phase::queued) continue;
    complete(c, codecs::error(code, message));
  }
  queued_live_ = 0;
  set_queue_gauge();
}

void pool_impl::stop_now() {
  if (stopping_) return;
  stopping_ = true;
  fail_queued(errc::shutting_down, "the gateway is shutting down");
  for (auto* t : list_waiters_) t->cancel();
  for (auto& c : conns_) c->stop();
}

asio::awaitable<void> pool_impl::async_stop() {
  auto self = shared_from_this();
  stop_now();
  if (running_ > 0) {
    all_stopped_.expires_after(std::chrono::seconds(5));
    co_await all_stopped_.async_wait(use_nothrow);
  }
  EXAI_LOG(info, "pool", "daemon pool stopped", {"still_running", running_});
}

// ---- dispatch --------------------------------------------------------------------------------

std::optional<std::size_t> pool_impl::pick() {
  views_.clear();
  for (const auto& c : conns_) views_.push_back(conn_view{c->ready(), c->load(), c->capacity()});
  if (views_.empty()) return std::nullopt;
  return pick_connection(views_, rr_++ % views_.size());
}

pool_impl::submitted pool_impl::submit(const call_ptr& c) {
  // FIFO: nobody overtakes calls already waiting.
  std::optional<std::size_t> idx;
  if (queued_live_ == 0) idx = pick();
  switch (admit(idx.has_value(), queued_live_, opts_.queue_limit)) {
    case admission::dispatch:
      conns_[*idx]->send(c);
      return submitted::sent;
    case admission::enqueue:
      c->phase = call_phase::queued;
      queue_.push_back(c);
      ++queued_live_;
      set_queue_gauge();
      grow_serial();
      return submitted::queued;
    case admission::reject:
      break;
  }
  return submitted::rejected;
}

void pool_impl::drain() {
  while (queued_live_ > 0) {
    while (!queue_.empty() && queue_.front()->phase != call_phase::queued) queue_.pop_front();
    if (queue_.empty()) break;
    auto idx = pick();
    if (!idx) break;
    call_ptr c = std::move(queue_.front());
    queue_.pop_front();
    --queued_live_;
    conns_[*idx]->send(c);
  }
  if (queued_live_ == 0) queue_.clear();  // only dead entries may remain
  set_queue_gauge();
  if (queued_live_ > 0) grow_serial();
}

void pool_impl::on_capacity() {
  if (queued_live_ > 0) drain();
}

void pool_impl::grow_serial(std::size_t spare) {
  if (stopping_) return;
  for (std::size_t e = 0; e < eps_.size(); ++e) {
    endpoint_state& ep = eps_[e];
    if (!ep.serial) continue;
    endpoint_view v;
    v.serial = true;
    v.cap = ep.effective_cap(clock::now());
    for (std::size_t i : ep.conns) {
      const upstream_connection& c = *conns_[i];
      if (c.state() == conn_state::retired || c.state() == conn_state::stopped) continue;
      ++v.open;
      if (c.state() != conn_state::ready) ++v.connecting;
      else if (c.load() == 0) ++v.idle;
    }
    std::size_t add = serial_growth(v, queued_live_ + spare);
    for (; add > 0; --add) {
      // Reuse a retired slot whose task has ended, else a new one.
      std::optional<std::size_t> slot;
      for (std::size_t i : ep.conns)
        if (!conns_[i]->running()) slot = i;
      if (slot) {
        conns_[*slot] = std::make_unique<upstream_connection>(*this, e, conns_[*slot]->name());
      } else {
        slot = conns_.size();
        conns_.push_back(std::make_unique<upstream_connection>(
            *this, e, "ep" + std::to_string(e) + "/c" + std::to_string(ep.conns.size())));
        ep.conns.push_back(*slot);
      }
      EXAI_LOG(info, "pool", "opening another serial connection", {"endpoint", ep.ep.to_string()},
               {"conn", conns_[*slot]->name()}, {"queued", queued_live_});
      spawn(*slot);
    }
  }
}

void pool_impl::complete(const call_ptr& c, codecs::result<codecs::tool_result> outcome) {
  if (c->phase == call_phase::done || c->phase == call_phase::abandoned) return;
  if (c->phase == call_phase::sent) count_in_flight(-1);
  if (c->phase == call_phase::queued) --queued_live_;
  if (!outcome && outcome.error().code == errc::upstream_lost) lost_.fetch_add(1, std::memory_order_relaxed);
  if (c->conn) c->conn_name = c->conn->name();  // alive here; it may not be when the caller wakes
  c->phase = call_phase::done;
  c->outcome = std::move(outcome);
  c->wake.cancel();
}

void pool_impl::abandon(const call_ptr& c) {
  switch (c->phase) {
    case call_phase::queued:
      c->phase = call_phase::abandoned;
      --queued_live_;
      set_queue_gauge();
      break;
    case call_phase::sent:
      c->phase = call_phase::abandoned;
      count_in_flight(-1);
      if (c->conn) {
        c->conn->abandon(c);
        // A serial connection now stays busy until the late reply: keep one connection free
        // for the next call if the address allows more (abandoned calls never delay new ones).
        if (c->conn->mode() == conn_mode::serial) grow_serial(1);
      }
      break;
    default:
      break;
  }
}

EXAI_ASIO_FRAME_WARNING_OFF  // a GCC false positive at -O2, see net/asio_frame_warning.hpp
asio::awaitable<codecs::result<codecs::tool_result>> pool_impl::async_call(
    std::string name, json::object arguments, routes::call_context ctx) {
  auto self = shared_from_this();
  if (const auto caller = co_await asio::this_coro::executor; caller != ex_) {
    // Another executor: run on the pool's; co_spawn forwards our cancellation slot to it.
    co_return co_await asio::co_spawn(
        ex_, async_call(std::move(name), std::move(arguments), std::move(ctx)), asio::use_awaitable);
  }
  if (coroutine_is_cancelled(co_await asio::this_coro::cancellation_state))
    co_return codecs::error(errc::cancelled, "the call was cancelled");
  if (stopping_) co_return codecs::error(errc::shutting_down, "the gateway is shutting down");

  auto c = std::make_shared<call_state>(ex_);
  c->kind = request_kind::call;
  c->id = ids_.uuid_v4();  // fresh for every request (hazard 2)
  c->tool = name;
  op::call_tool m;
  m.request_id = c->id;
  m.name = std::move(name);
  m.arguments = std::move(arguments);
  c->frame = op::encode_text(m);
  if (c->frame.size() > upstream_max_) {
    // The daemon would close the shared connection (1009) and fail everyone's calls on it:
    // this call fails alone, before anything is written.
    co_return codecs::error(errc::tool_failed,
                            "the call is " + std::to_string(c->frame.size()) +
                                " bytes as a daemon message, over the daemon's limit of " +
                                std::to_string(upstream_max_) + " bytes; it was not sent");
  }
  c->progress = std::move(ctx.progress);
  const auto now = clock::now();
  // The caller's deadline already holds the tool's budget (routes::route_options::timeout_for):
  // budgets are kept in one place, the routes, for every backend.
  c->deadline = ctx.deadline;
  c->submitted = now;
  calls_.fetch_add(1, std::memory_order_relaxed);
  // One debug record per call at its end, with the per-request fields. Never the arguments.
  auto log_call = [&](const codecs::result<codecs::tool_result>& r) {
    EXAI_LOG(debug, "pool", "call", {"session", ctx.session}, {"client_id", ctx.client_id},
             {"request_id", c->id}, {"tool", c->tool}, {"conn", c->conn_name},
             {"latency_ms", std::chrono::duration<double, std::milli>(clock::now() - now).count()},
             {"outcome", outcome_name(r)});
  };

  if (submit(c) == submitted::rejected) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    EXAI_LOG(warn, "pool", "call refused: queue full", {"tool", c->tool}, {"session", ctx.session},
             {"queue_limit", opts_.queue_limit});
    codecs::result<codecs::tool_result> e = codecs::error(
        errc::over_capacity,
        "OVER_CAPACITY: every daemon connection is busy and the gateway's queue is full");
    log_call(e);
    co_return e;
  }

  // The call's one timer is its deadline: not routes::async_with_deadline, because the waiter must
  // wake early for other reasons too (the reply, an unreachable daemon) and then decide what the
  // daemon is told (cancel, abandon); racing a second timer would add one per call.
  for (;;) {
    if (!c->outcome) {
      c->wake.expires_at(wait_until(*c));
      co_await c->wake.async_wait(use_nothrow);
    }
    if (c->outcome) {
      log_call(*c->outcome);
      co_return std::move(*c->outcome);
    }
    const auto woke = clock::now();
    const bool deadline_passed = woke >= c->deadline;
    const bool cancelled = coroutine_is_cancelled(co_await asio::this_coro::cancellation_state);
    if (!deadline_passed && !cancelled && c->phase == call_phase::queued && !any_ready() &&
        woke >= wait_until(*c)) {
      // No daemon could be reached for a while: say so now rather than at the deadline.
      abandon(c);
      EXAI_LOG(info, "pool", "call failed: no daemon reachable", {"tool", c->tool},
               {"session", ctx.session}, {"client_id", ctx.client_id});
      codecs::result<codecs::tool_result> r = codecs::error(
          errc::backend_unavailable,
          "no daemon reachable: no connection to the daemon was ready within " +
              std::to_string(opts_.unreachable_wait.count()) + " ms");
      log_call(r);
      co_return r;
    }
    if (!deadline_passed && !cancelled) continue;  // woken without an outcome: wait on
    const bool was_queued = c->phase == call_phase::queued;
    if (c->phase == call_phase::sent && c->conn) c->conn_name = c->conn->name();
    abandon(c);
    if (deadline_passed) {
      // stats only: exai_timeouts_total counts requests, once, in the gateway's session.
      timeouts_.fetch_add(1, std::memory_order_relaxed);
      EXAI_LOG(info, "pool", "call timed out", {"tool", c->tool}, {"request_id", c->id},
               {"session", ctx.session}, {"client_id", ctx.client_id}, {"queued", was_queued});
      codecs::result<codecs::tool_result> r = codecs::error(
          errc::timeout, was_queued
                             ? "the call's deadline passed while it waited for a daemon connection"
                             : "the call's deadline passed before the daemon answered");
      log_call(r);
      co_return r;
    }
    cancelled_.fetch_add(1, std::memory_order_relaxed);
    codecs::result<codecs::tool_result> r = codecs::error(errc::cancelled, "the call was cancelled");
    log_call(r);
    co_return r;
  }
}
EXAI_ASIO_FRAME_WARNING_ON

// ---- connections' events ---------------------------------------------------------------------

void pool_impl::on_ready(upstream_connection& c) {
  endpoint_state& ep = eps_[c.endpoint_index()];
  if (c.mode() == conn_mode::serial) {
    if (!ep.serial) {
      ep.serial = true;
      EXAI_LOG(info, "pool", "daemon speaks the reference protocol: serial mode",
               {"endpoint", ep.ep.to_string()}, {"cap", ep.cap});
    }
    std::size_t ready = 0;
    for (std::size_t i : ep.conns)
      if (conns_[i]->ready()) ++ready;
    // The configured cap only: a connection the daemon accepted and acked is within its real
    // limit, whatever a recent 1008 suggested.
    if (ready > ep.cap) {
      c.retire();
      return;
    }
  }
  maybe_fetch_tools(c);
  drain();
}

void pool_impl::maybe_fetch_tools(upstream_connection& c) {
  if (stopping_ || tools_fetching_ || !c.ready()) return;
  if (tools_loaded_ && !tools_stale_) return;
  if (c.mode() == conn_mode::serial && c.load() > 0) return;  // one request at a time
  auto l = std::make_shared<call_state>(ex_);
  l->kind = request_kind::list_tools;
  l->id = ids_.uuid_v4();
  op::list_tools m;
  m.request_id = l->id;
  l->frame = json::serialize(op::encode(m));
  l->deadline = clock::now() + std::max(opts_.hello_timeout, std::chrono::milliseconds(1000));
  tools_fetching_ = true;
  tools_stale_ = false;
  c.send(l);
}

void pool_impl::on_tool_list(upstream_connection& c, const op::server_message* m) {
  tools_fetching_ = false;
  const auto* res = m ? std::get_if<op::list_tools_res>(m) : nullptr;
  if (!res) {
    std::string why = "no reply";
    if (m) {
      if (const auto* e = std::get_if<op::error_msg>(m)) why = e->error.code + ": " + e->error.message;
      else why = "unexpected reply";
    }
    if (!stopping_) EXAI_LOG(warn, "pool", "tool list fetch failed; will retry", {"conn", c.name()}, {"why", why});
    tools_stale_ = true;  // the next ready connection or housekeeping tick retries
    return;
  }
  json::array tools;
  tools.reserve(res->tools.size());
  for (const auto& t : res->tools) {
    if (const auto* o = t.if_object()) tools.push_back(op::to_mcp_tool(*o));
  }
  const bool changed = !tools_loaded_ || tools != tools_;
  tools_ = std::move(tools);
  tools_loaded_ = true;
  tools_loaded_flag_.store(true, std::memory_order_relaxed);
  tools_count_.store(tools_.size(), std::memory_order_relaxed);
  EXAI_LOG(info, "pool", "tool list loaded", {"conn", c.name()}, {"tools", tools_.size()},
           {"changed", changed});
  for (auto* t : list_waiters_) t->cancel();
  if (changed) {
    ++tools_generation_;
    tools_changed_.cancel();
  }
}

void pool_impl::on_down(upstream_connection& c, bool was_ready) {
  // Refreshed after a reconnect: the daemon may have been replaced by another version.
  if (was_ready) tools_stale_ = true;
  (void)c;
  // Calls queued for a connection keep waiting for another one or the reconnect, but only for
  // unreachable_wait while none is ready: wake them to take the shorter wait.
  if (queued_live_ > 0) drain();
  if (was_ready && !any_ready()) {
    no_ready_since_ = clock::now();
    for (const auto& q : queue_) {
      if (q->phase == call_phase::queued) q->wake.cancel();
    }
  }
}

void pool_impl::on_hung(upstream_connection& c) {
  for (std::size_t i : eps_[c.endpoint_index()].conns) {
    if (conns_[i].get() != &c) conns_[i]->drop();
  }
}

bool pool_impl::any_ready() const {
  return std::any_of(conns_.begin(), conns_.end(), [](const auto& c) { return c->ready(); });
}

clock::time_point pool_impl::wait_until(const call_state& c) const {
  if (c.phase != call_phase::queued || any_ready()) return c.deadline;
  return std::min(c.deadline, std::max(c.submitted, no_ready_since_) + opts_.unreachable_wait);
}

refusal_decision pool_impl::on_refused(upstream_connection& c) {
  endpoint_state& ep = eps_[c.endpoint_index()];
  std::size_t other_open = 0;
  for (std::size_t i : ep.conns) {
    const upstream_connection& o = *conns_[i];
    if (&o != &c && o.connected()) ++other_open;  // ready or still in hello: both count there
  }
  const refusal_decision d = pool::on_refused(other_open, ep.cap);
  if (d.retire) {
    ep.refused_cap = d.new_cap;
    ep.refused_until = clock::now() + refusal_hold;
    EXAI_LOG(warn, "pool", "connection limit reached at the daemon; pool capped for a while",
             {"endpoint", ep.ep.to_string()}, {"cap", d.new_cap},
             {"hold_s", static_cast<std::int64_t>(refusal_hold.count())});
  }
  return d;
}

// ---- readiness and stats ---------------------------------------------------------------------

bool pool_impl::ready() const {
  return n_ready_.load(std::memory_order_relaxed) > 0 && tools_loaded_flag_.load(std::memory_order_relaxed);
}

void pool_impl::count_state(conn_state from, conn_state to) {
  auto bump = [this](conn_state s, int d) {
    switch (s) {
      case conn_state::connecting: n_connecting_ += d; m_connecting_->add(d); break;
      case conn_state::ready: n_ready_ += d; m_ready_->add(d); break;
      case conn_state::backoff: n_backoff_ += d; m_backoff_->add(d); break;
      default: break;
    }
  };
  bump(from, -1);
  bump(to, +1);
}

void pool_impl::count_mode(conn_mode m, std::int64_t d) {
  (m == conn_mode::serial ? n_serial_ : n_mux_).fetch_add(d, std::memory_order_relaxed);
}

void pool_impl::count_reconnect() {
  reconnects_.fetch_add(1, std::memory_order_relaxed);
  m_reconnects_->inc();
}

void pool_impl::count_late() {
  late_.fetch_add(1, std::memory_order_relaxed);
  m_late_->inc();
}

void pool_impl::set_queue_gauge() {
  const auto q = static_cast<std::int64_t>(queued_live_);
  const auto prev = queued_.exchange(q, std::memory_order_relaxed);
  m_queue_->add(q - prev);
}

daemon_pool::stats pool_impl::snapshot() const {
  daemon_pool::stats s;
  auto nn = [](const std::atomic<std::int64_t>& a) {
    return static_cast<std::size_t>(std::max<std::int64_t>(a.load(std::memory_order_relaxed), 0));
  };
  s.connecting = nn(n_connecting_);
  s.ready = nn(n_ready_);
  s.backoff = nn(n_backoff_);
  s.serial = nn(n_serial_);
  s.multiplexed = nn(n_mux_);
  s.queued = nn(queued_);
  s.in_flight = nn(in_flight_);
  s.abandoned = nn(abandoned_);
  s.calls = calls_.load(std::memory_order_relaxed);
  s.reconnects = reconnects_.load(std::memory_order_relaxed);
  s.late_replies_dropped = late_.load(std::memory_order_relaxed);
  s.timeouts = timeouts_.load(std::memory_order_relaxed);
  s.cancelled = cancelled_.load(std::memory_order_relaxed);
  s.rejected = rejected_.load(std::memory_order_relaxed);
  s.lost = lost_.load(std::memory_order_relaxed);
  s.tools_loaded = tools_loaded_flag_.load(std::memory_order_relaxed);
  s.tools = tools_count_.load(std::memory_order_relaxed);
  return s;
}

asio::awaitable<codecs::result<json::array>> pool_impl::async_list_tools() {
  if (!tools_loaded_ && !stopping_) {
    // Right after start the first list is usually a few milliseconds away: wait for it (bounded)
    // rather than tell a client that lists once at startup that there are no tools.
    auto self = shared_from_this();
    asio::steady_timer t(ex_, clock::now() + opts_.unreachable_wait);
    list_waiters_.push_back(&t);
    co_await t.async_wait(use_nothrow);
    list_waiters_.erase(std::find(list_waiters_.begin(), list_waiters_.end(), &t));
  }
  if (!tools_loaded_) {
    co_return codecs::error(errc::backend_unavailable,
                            "the daemon's tool list is not available yet (no daemon connection)");
  }
  co_return tools_;
}

asio::awaitable<std::uint64_t> pool_impl::async_wait_tools_changed(std::uint64_t seen) {
  auto self = shared_from_this();  // a waiter may outlive the daemon_pool object
  while (tools_generation_ <= seen) {
    boost::system::error_code ec;
    co_await tools_changed_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    // A change cancels the timer for everyone; our own cancellation ends the wait.
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) {
      throw boost::system::system_error(asio::error::operation_aborted);
    }
  }
  co_return tools_generation_;
}

}  // namespace detail

// ---- public API --------------------------------------------------------------------------------

daemon_pool::daemon_pool(boost::asio::any_io_executor ex, pool_options opts)
    : daemon_pool(std::move(ex), std::move(opts), &make_beast_transport) {}

daemon_pool::daemon_pool(boost::asio::any_io_executor ex, pool_options opts, transport_factory factory)
    : impl_(std::make_shared<detail::pool_impl>(std::move(ex), std::move(opts), std::move(factory))) {}

daemon_pool::~daemon_pool() { impl_->stop_now(); }

boost::asio::awaitable<std::uint64_t> daemon_pool::async_wait_tools_changed(std::uint64_t seen) {
  co_return co_await impl_->async_wait_tools_changed(seen);
}

void daemon_pool::start() { impl_->start(); }

boost::asio::awaitable<void> daemon_pool::async_stop() {
  auto impl = impl_;
  auto ex = co_await boost::asio::this_coro::executor;
  if (ex == impl->executor()) {
    co_await impl->async_stop();
  } else {
    co_await boost::asio::co_spawn(impl->executor(), impl->async_stop(), boost::asio::use_awaitable);
  }
}

boost::asio::awaitable<codecs::result<boost::json::array>> daemon_pool::async_list_tools() {
  auto impl = impl_;
  auto ex = co_await boost::asio::this_coro::executor;
  if (ex == impl->executor()) co_return co_await impl->async_list_tools();
  co_return co_await boost::asio::co_spawn(impl->executor(), impl->async_list_tools(),
                                           boost::asio::use_awaitable);
}

// Not a coroutine itself: the caller awaits pool_impl::async_call directly, one frame fewer per
// call. async_call moves to the pool's executor when the caller runs elsewhere.
boost::asio::awaitable<codecs::result<codecs::tool_result>> daemon_pool::async_call_tool(
    std::string name, boost::json::object arguments, routes::call_context ctx) {
  return impl_->async_call(std::move(name), std::move(arguments), std::move(ctx));
}

bool daemon_pool::ready() const { return impl_->ready(); }

daemon_pool::stats daemon_pool::snapshot() const { return impl_->snapshot(); }

}  // namespace exai::gateway::pool
