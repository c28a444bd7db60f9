// One client session (gateway/session.hpp): reader, writer, in-flight table, per-request
// coroutines with cancellation slots, progress, batches, and the graceful end of a connection.
#include "gateway/session.hpp"

#include "codecs/classify.hpp"
#include "codecs/jsonrpc.hpp"
#include "codecs/op.hpp"
#include "gateway/gateway_metrics.hpp"
#include "gateway/memory_trim.hpp"
#include "gateway/reply.hpp"
#include "observability/log.hpp"
#include "routes/logging.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <deque>
#include <unordered_map>
#include <vector>

namespace exai::gateway {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using codecs::errc;
using clock = routes::clock;

// How long cancelled requests get to unwind before a session stops waiting for them (a backend
// honours cancellation promptly; this only bounds a misbehaving one).
constexpr std::chrono::milliseconds cancel_unwind_limit{2000};
// How long the last replies may take to be written when a session ends: a peer that does not read
// them (stdout nobody reads after stdin closed) must not keep the process alive.
constexpr std::chrono::milliseconds final_flush_limit{5000};

// One write of the session's writer takes at most this much of its queue.
constexpr std::size_t max_batch_messages = 64;
constexpr std::size_t max_batch_bytes = 256 * 1024;

// Why an in-flight request was cancelled; decides what, if anything, the client is sent.
enum class cancel_reason : std::uint8_t {
  none,
  client,      // notifications/cancelled or op cancel: no reply (MCP) / `cancelled` already sent
  disconnect,  // the connection is gone: nothing can be sent
  shutdown,    // SIGTERM after the grace period: an error reply
  eof,         // stdin closed and the grace period passed: an error reply
};

// Wakes every coroutine waiting in async_wait (a condition variable for one executor).
class waiters {
 public:
  void notify_all() {
    for (auto* t : list_) t->cancel();
  }
  // True when notified, false when the deadline passed.
  asio::awaitable<bool> async_wait(clock::time_point deadline) {
    asio::steady_timer t(co_await asio::this_coro::executor, deadline);
    list_.push_back(&t);
    boost::system::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    list_.erase(std::find(list_.begin(), list_.end(), &t));
    co_return ec == asio::error::operation_aborted;
  }

 private:
  std::vector<asio::steady_timer*> list_;
};

// The replies of one JSON-RPC batch, sent as one array once every element is answered.
struct batch_state {
  std::size_t pending = 1;  // the reader holds one until it has dispatched every element
  std::vector<std::string> responses;  // serialized, so they count in the session's bytes
  std::size_t bytes = 0;
};

// One request in flight. Shared by the table, the request's coroutine completion and its
// progress sink, so the cancellation signal outlives the coroutine bound to it.
struct inflight_entry {
  std::string key;
  asio::cancellation_signal signal;
  cancel_reason reason = cancel_reason::none;
  bool done = false;  // reply queued (or suppressed): no more progress
  codecs::dialect dialect = codecs::dialect::jsonrpc;
  std::optional<codecs::client_id> id;
  std::optional<json::value> progress_token;  // MCP _meta.progressToken, verbatim
  double last_progress = 0;
  bool any_progress = false;
  std::optional<int> log_threshold;  // routes/logging.hpp: none -> the tool's log lines are dropped
  std::shared_ptr<batch_state> batch;
  clock::time_point received;
  // The request and its context, which the route's coroutine works on by reference until it
  // completes (spawn_request): here rather than in a coroutine frame of the session's own.
  std::optional<codecs::inbound> in;
  std::optional<routes::request_context> ctx;
};

std::string_view dialect_name(codecs::dialect d) noexcept {
  return d == codecs::dialect::op ? "op" : "mcp";
}

// The progress token of a JSON-RPC request, if it asked for progress (string or integer).
std::optional<json::value> progress_token_of(const codecs::inbound& in) {
  const auto* meta = in.params.if_contains("_meta");
  const auto* mo = meta ? meta->if_object() : nullptr;
  const auto* token = mo ? mo->if_contains("progressToken") : nullptr;
  if (token && (token->is_string() || token->is_int64() || token->is_uint64())) return *token;
  return std::nullopt;
}

}  // namespace

struct session::impl : std::enable_shared_from_this<session::impl> {
  impl(std::unique_ptr<message_transport> t, routes::tool_backend& b,
       const routes::route_options& r, session_options o)
      : transport(std::move(t)),
        ex(transport->get_executor()),
        backend(b),
        route_opts(r),
        opts(std::move(o)),
        writer_wake(ex, clock::time_point::max()),
        reader_wake(ex, clock::time_point::max()) {
    state.session_id = opts.id;
    state.authenticated = opts.authenticated;
    state.cancel_request = [this](const codecs::client_id& id, codecs::dialect d) {
      return cancel_key(key_of(d, id), cancel_reason::client);
    };
  }

  std::unique_ptr<message_transport> transport;
  asio::any_io_executor ex;
  routes::tool_backend& backend;
  const routes::route_options& route_opts;
  session_options opts;
  routes::session_state state;
  session_stats stats;

  std::unordered_map<std::string, std::shared_ptr<inflight_entry>> table;
  // Finished requests whose cancellation signal must outlive their coroutine's last turn
  // (spawn_request); released by the next read or write, which run on later turns.
  std::vector<std::shared_ptr<inflight_entry>> finished_entries;
  std::uint64_t anonymous_ids = 0;

  std::deque<std::string> queue;
  // Reply bytes queued, being written, or held for unfinished batches (max_session_bytes).
  std::size_t pending_bytes = 0;
  // A reply was refused for the bound: reading stays paused until half of it has been written.
  bool over_bound = false;
  asio::steady_timer writer_wake;  // never expires: cancel() wakes the writer
  asio::steady_timer reader_wake;  // likewise for the reader
  bool writer_waiting = false;
  bool reader_waiting = false;
  waiters idle;         // notified when the table becomes empty
  waiters writer_exit;  // notified when the writer has written its last message or stopped

  codecs::dialect last_dialect = codecs::dialect::jsonrpc;
  std::optional<codecs::dialect> counted_dialect;  // for the sessions gauge
  bool read_eof = false;
  bool shutting_down = false;
  bool close_requested = false;
  close_code close_with = close_code::normal;
  bool writer_done = false;
  bool flushed = false;  // close requested and every queued reply written (or writing failed)
  bool started = false;

  // ---- keys and cancellation -----------------------------------------------------------------

  // JSON-RPC and op ids live in separate key spaces: one connection may speak both.
  static std::string key_of(codecs::dialect d, const codecs::client_id& id) {
    std::string k = id.key();
    k.insert(k.begin(), d == codecs::dialect::op ? 'o' : 'j');
    return k;
  }

  bool cancel_key(const std::string& key, cancel_reason why) {
    auto it = table.find(key);
    if (it == table.end()) return false;
    std::shared_ptr<inflight_entry> e = it->second;
    if (e->done || e->reason != cancel_reason::none) return false;
    e->reason = why;
    if (why == cancel_reason::client) {
      ++stats.client_cancels;
      metrics::client_cancels().inc();
    }
    e->signal.emit(asio::cancellation_type::terminal);
    return true;
  }

  void cancel_all(cancel_reason why) {
    // Collect first: an emit may complete a request and erase its entry.
    std::vector<std::shared_ptr<inflight_entry>> running;
    running.reserve(table.size());
    for (auto& [k, e] : table) {
      if (!e->done && e->reason == cancel_reason::none) running.push_back(e);
    }
    for (auto& e : running) {
      if (e->done || e->reason != cancel_reason::none) continue;
      e->reason = why;
      if (why == cancel_reason::disconnect) metrics::client_cancels().inc();
      e->signal.emit(asio::cancellation_type::terminal);
    }
  }

  // ---- output --------------------------------------------------------------------------------

  void send_text(std::string text) {
    if (writer_done || close_requested) return;
    pending_bytes += text.size();
    queue.push_back(std::move(text));
    if (writer_waiting) writer_wake.cancel();
  }

  void send(const json::object& msg) { send_text(json::serialize(msg)); }

  void deliver(std::string text, const std::shared_ptr<batch_state>& batch) {
    if (batch) {
      batch->bytes += text.size();
      pending_bytes += text.size();
      batch->responses.push_back(std::move(text));
    } else {
      send_text(std::move(text));
    }
  }

  void deliver(const json::object& msg, const std::shared_ptr<batch_state>& batch) {
    deliver(json::serialize(msg), batch);
  }

  void release_batch(const std::shared_ptr<batch_state>& batch) {
    if (--batch->pending > 0) return;
    pending_bytes -= batch->bytes;
    // An all-notification batch gets no reply at all (mcp-server-rules.md, "Batches").
    if (batch->responses.empty()) return;
    std::string text;
    text.reserve(batch->bytes + batch->responses.size() + 1);
    for (const auto& r : batch->responses) {
      text += text.empty() ? '[' : ',';
      text += r;
    }
    text += ']';
    batch->responses.clear();
    send_text(std::move(text));
  }

  // Why a reply of `size` bytes may not be sent as it is, or nothing when it may: larger than a
  // message may be, or the client is not reading and its replies already fill the session's bound.
  std::optional<std::string> refuse_reply(std::size_t size, const batch_state* batch) {
    const std::size_t before = batch ? batch->bytes : 0;
    if (before + size > opts.max_reply_bytes) {
      return "the reply is " + std::to_string(before + size) + " bytes, over the limit of " +
             std::to_string(opts.max_reply_bytes) + " bytes per message";
    }
    if (pending_bytes > 0 && pending_bytes + size > opts.max_session_bytes) {
      over_bound = true;
      return "the client is not reading its replies: " + std::to_string(pending_bytes) +
             " bytes wait to be sent (limit " + std::to_string(opts.max_session_bytes) +
             " per session); a result of " + std::to_string(size) + " bytes was dropped";
    }
    return std::nullopt;
  }

  // The reply to a request as text in its dialect (a JSON-RPC result without an envelope object).
  static std::string reply_text(const inflight_entry& e, const codecs::inbound& in,
                                codecs::result<json::value> r) {
    if (e.dialect == codecs::dialect::jsonrpc && r) {
      return codecs::jsonrpc::encode_result_text(*in.id, *r);
    }
    return json::serialize(e.dialect == codecs::dialect::op ? op_reply(in, std::move(r))
                                                            : jsonrpc_reply(*in.id, std::move(r)));
  }

  // An error for a message that has no usable id: in the dialect the connection used so far.
  void send_error_in_dialect(const codecs::error& e, const json::value* request_id = nullptr,
                             const std::optional<codecs::client_id>& id = std::nullopt) {
    if (last_dialect == codecs::dialect::op) {
      send(op_error(request_id ? *request_id : json::value(nullptr), e));
    } else {
      send(jsonrpc_error(id, e));
    }
  }

  void request_close(close_code code) {
    if (close_requested) return;
    close_with = code;
    close_requested = true;
    if (writer_waiting) writer_wake.cancel();
    if (reader_waiting) reader_wake.cancel();
  }

  bool can_read() const noexcept {
    return !close_requested && !writer_done && table.size() < opts.max_inflight &&
           queue.size() < opts.max_queued && pending_bytes < opts.max_session_bytes &&
           !over_bound;
  }

  // ---- progress ------------------------------------------------------------------------------

  routes::progress_sink make_progress_sink(const std::shared_ptr<inflight_entry>& e) {
    std::weak_ptr<impl> weak_self = weak_from_this();
    std::weak_ptr<inflight_entry> weak_entry = e;
    return [weak_self, weak_entry](const codecs::progress_update& u) {
      auto self = weak_self.lock();
      if (!self) return;
      // The backend may report from its own executor; the session's state lives on ours.
      asio::dispatch(self->ex, [self, weak_entry, u]() {
        if (auto entry = weak_entry.lock()) self->on_progress(*entry, u);
      });
    };
  }

  void on_progress(inflight_entry& e, const codecs::progress_update& u) {
    if (e.done || e.reason != cancel_reason::none) return;  // none after the response
    if (queue.size() >= opts.max_queued || pending_bytes >= opts.max_session_bytes) {
      // Advisory: dropped rather than blocking the tool.
      ++stats.progress_dropped;
      return;
    }
    if (!u.log_level.empty()) {  // a log line: notifications/message at or above the threshold
      const auto severity = routes::log_severity(u.log_level);
      if (e.log_threshold && severity && *severity >= *e.log_threshold) {
        send(routes::log_notification(u));
      }
      return;
    }
    if (e.dialect == codecs::dialect::op) {
      send(op_progress(e.id ? &*e.id : nullptr, u));
      return;
    }
    if (!e.progress_token) return;
    // MCP requires strictly increasing progress; text-only reports count up by one.
    const double value = u.progress ? *u.progress : e.last_progress + 1;
    if (e.any_progress && !(value > e.last_progress)) {
      ++stats.progress_dropped;
      return;
    }
    e.last_progress = value;
    e.any_progress = true;
    send(mcp_progress(*e.progress_token, value, u.total, u.message));
  }

  // ---- requests ------------------------------------------------------------------------------

  // The route's result, or the error its coroutine ended with.
  static codecs::result<json::value> outcome_of(std::exception_ptr failure,
                                                codecs::result<json::value> r) {
    if (!failure) return r;
    try {
      std::rethrow_exception(failure);
    } catch (const boost::system::system_error& ex) {
      if (ex.code() == asio::error::operation_aborted) {
        return codecs::error(errc::cancelled, "cancelled");
      }
      return codecs::error(errc::internal, ex.what());
    } catch (const std::exception& ex) {
      return codecs::error(errc::internal, ex.what());
    } catch (...) {
      return codecs::error(errc::internal, "unknown failure");
    }
  }

  void spawn_request(routes::handler h, codecs::inbound in, std::string key,
                     const std::shared_ptr<batch_state>& batch) {
    auto e = std::make_shared<inflight_entry>();
    e->key = std::move(key);
    e->dialect = in.from;
    e->id = in.id;
    e->received = clock::now();
    if (in.from == codecs::dialect::jsonrpc) {
      e->progress_token = progress_token_of(in);
      e->log_threshold = routes::log_threshold(in.method, in.params, state);
    }
    e->batch = batch;
    if (batch) ++batch->pending;
    table.emplace(e->key, e);
    stats.max_inflight_seen = std::max(stats.max_inflight_seen, table.size());
    ++stats.requests;
    metrics::inflight().add(1);

    auto& ctx = e->ctx.emplace(state, backend, route_opts, in.from);
    ctx.received = e->received;
    // tools/call takes its deadline from the tool's budget; the rest from the default budget.
    const bool tools_call = in.method == "tools/call";
    if (!tools_call) ctx.deadline = e->received + route_opts.call_timeout;
    if (tools_call && (e->dialect == codecs::dialect::op || e->progress_token || e->log_threshold)) {
      ctx.progress = make_progress_sink(e);
    }
    ctx.session_label = opts.id;
    ctx.client_key = e->key;
    auto& request = e->in.emplace(std::move(in));

    auto slot = e->signal.slot();
    // Completion of either coroutine below: the route's own, with its result, or run_request's,
    // which has finished the request itself.
    auto done = [e, self = shared_from_this()](std::exception_ptr failure, auto&&... r) mutable {
      if constexpr (sizeof...(r) == 1) {
        self->finish_request(*e, *e->in, *e->ctx, outcome_of(failure, std::move(r)...));
      } else if (failure && !e->done) {  // run_request catches everything; never unanswered
        self->finish_request(*e, *e->in, *e->ctx,
                             outcome_of(failure, codecs::error(errc::internal, "no result")));
      }
      // The signal may still be referenced by the finishing coroutine machinery: release it on
      // a later turn. The session's next read or write is one (no post per call: issue 7
      // profile); a session that is going away posts.
      if (self.use_count() > 1) {
        self->finished_entries.push_back(std::move(e));
      } else {
        asio::post(self->ex, [e = std::move(e), self = std::move(self)]() {});
      }
    };
    if (tools_call && backend.enforces_deadline()) {
      // The pool always waits for the daemon: the route's coroutine is spawned itself and the
      // session's part runs in the completion handler (no coroutine frame of the session's own
      // per call: issue 7 profile).
      asio::co_spawn(ex, h(request, ctx), asio::bind_cancellation_slot(slot, std::move(done)));
    } else {
      // Anything else may finish without waiting: run_request queues its reply on the same
      // turn, before the reader looks at the queue again (back-pressure on a stalled writer).
      asio::co_spawn(ex, run_request(shared_from_this(), h, e),
                     asio::bind_cancellation_slot(slot, std::move(done)));
    }
  }

  static asio::awaitable<void> run_request(std::shared_ptr<impl> self, routes::handler h,
                                           std::shared_ptr<inflight_entry> e) {
    codecs::result<json::value> r = codecs::error(errc::internal, "no result");
    try {
      r = co_await h(*e->in, *e->ctx);
    } catch (...) {
      r = outcome_of(std::current_exception(), std::move(r));
    }
    self->finish_request(*e, *e->in, *e->ctx, std::move(r));
  }

  void finish_request(inflight_entry& e, const codecs::inbound& in, const routes::request_context& ctx,
                      codecs::result<json::value> r) {
    e.done = true;
    if (auto it = table.find(e.key); it != table.end() && it->second.get() == &e) table.erase(it);
    metrics::inflight().add(-1);
    thread_local burst_tracker bursts;  // per io thread: each sees its own bursts
    if (bursts.on_finished(metrics::inflight().value())) release_free_memory_soon(ex);

    // Outcome, for metrics and the request log.
    std::string_view outcome = "ok";
    if (e.reason == cancel_reason::client || e.reason == cancel_reason::disconnect) {
      outcome = "cancelled";
    } else if (ctx.timed_out) {
      outcome = "timeout";
      metrics::timeouts().inc();
    } else if (!r) {
      outcome = r.error().code == errc::cancelled ? "cancelled" : "error";
    } else if (const auto* o = r->if_object()) {
      const auto* is_error = o->if_contains("isError");
      if (is_error && is_error->is_bool() && is_error->get_bool()) outcome = "error";
    }
    const auto elapsed = clock::now() - e.received;
    const std::string_view method = in.from == codecs::dialect::op ? std::string_view(in.op)
                                                                   : std::string_view(in.method);
    const bool known_tool = !(!r && r.error().code == errc::tool_not_found);
    const auto& series = metrics::request(method, known_tool ? ctx.tool : std::string_view());
    (outcome == "ok"          ? series.ok
     : outcome == "timeout"   ? series.timeout
     : outcome == "cancelled" ? series.cancelled
                              : series.error)
        ->inc();
    series.duration->observe(std::chrono::duration<double>(elapsed).count());
    EXAI_LOG(debug, "session", "request", {"session", opts.id}, {"client_id", e.key},
             {"method", method}, {"tool", ctx.tool},
             {"latency_ms", std::chrono::duration<double, std::milli>(elapsed).count()},
             {"outcome", outcome});

    bool reply = e.reason != cancel_reason::client && e.reason != cancel_reason::disconnect;
    if (reply) {
      if (!r && r.error().code == errc::cancelled) {
        r = codecs::error(errc::shutting_down,
                          e.reason == cancel_reason::eof
                              ? "input closed; the call was cancelled after the grace period"
                              : "the gateway is shutting down; the call was cancelled");
      }
      std::string text = reply_text(e, in, std::move(r));
      const bool was_over = over_bound;
      if (auto why = refuse_reply(text.size(), e.batch.get())) {
        // Once per stall at warn: a client that never reads must not flood the log.
        if (was_over) {
          EXAI_LOG(debug, "session", "reply replaced by an error", {"session", opts.id},
                   {"client_id", e.key}, {"bytes", text.size()}, {"reason", *why});
        } else {
          EXAI_LOG(warn, "session", "reply replaced by an error", {"session", opts.id},
                   {"client_id", e.key}, {"bytes", text.size()}, {"reason", *why});
        }
        codecs::result<json::value> refused = codecs::error(errc::over_capacity, *why);
        if (in.method == "tools/call") {
          refused = json::value(
              codecs::jsonrpc::to_call_tool_result(codecs::tool_result::text(*why, true)));
        }
        text = reply_text(e, in, std::move(refused));
      }
      deliver(std::move(text), e.batch);
    }
    if (e.batch) release_batch(e.batch);
    if (reader_waiting) reader_wake.cancel();
    if (table.empty()) idle.notify_all();
  }

  // ---- inbound -------------------------------------------------------------------------------

  void note_dialect(codecs::dialect d) {
    last_dialect = d;
    if (!counted_dialect) {
      counted_dialect = d;
      metrics::sessions(transport->kind(), dialect_name(d)).add(1);
    }
  }

  // A message on a connection that has not authenticated (token required, no Bearer on the
  // upgrade): refused like the reference daemon refuses a first message that is not hello.
  void refuse_unauthenticated(const codecs::inbound& in) {
    if (in.from == codecs::dialect::op) {
      send(op_hello_refused("missing_hello"));
      request_close(close_code::missing_hello);
    } else {
      if (in.type == codecs::message_type::request) {
        send(jsonrpc_error(in.id, codecs::error(errc::unauthorized,
                                                "unauthorized: send Authorization: Bearer <token> "
                                                "with the WebSocket upgrade")));
      }
      request_close(close_code::policy_violation);
    }
  }

  // One decoded message, without suspending: requests are spawned, refusals answered. Returns
  // false for the inline methods (handshakes, notifications, op cancel), which the caller runs
  // through on_inline: only they need a coroutine here, so an ordinary call costs no coroutine
  // frame before its own (issue 7 profile).
  bool on_inbound_now(codecs::inbound& in, const std::shared_ptr<batch_state>& batch) {
    if (in.type == codecs::message_type::response) return true;  // we send clients no requests
    const bool is_hello = in.from == codecs::dialect::op && in.method == "hello";
    if (!state.authenticated && !is_hello) {
      refuse_unauthenticated(in);
      return true;
    }
    if (routes::is_inline_method(in.method, in.from)) return false;
    if (in.type != codecs::message_type::request) return true;  // unknown notifications: ignored

    auto reply_error = [&](codecs::error err) {
      json::object msg = in.from == codecs::dialect::op ? op_reply(in, std::move(err))
                                                        : jsonrpc_error(in.id, err);
      deliver(std::move(msg), batch);
    };
    if (shutting_down) {
      reply_error(codecs::error(errc::shutting_down, "the gateway is shutting down"));
      return true;
    }
    if (in.from == codecs::dialect::op && !in.id && in.method == "tools/call") {
      // The op protocol requires an id on every call (exai-op-protocol.md): without one its
      // answer could not be matched, so it is refused like the daemon refuses it.
      reply_error(codecs::error(errc::invalid_request, "call_tool needs a string request_id"));
      return true;
    }
    auto h = routes::find_route(in.method, in.from);
    if (!h) {
      reply_error(codecs::error(errc::method_not_found, "method not found: " + codecs::excerpt(in.method)));
      return true;
    }
    std::string key;
    if (in.id) {
      key = key_of(in.from, *in.id);
    } else {
      key = "#" + std::to_string(++anonymous_ids);  // an op request without request_id
    }
    if (table.contains(key)) {
      // The first request with this id continues; answering the second with the same id is the
      // only way to tell the client (issue 4 brief).
      reply_error(codecs::error(errc::invalid_request,
                                "duplicate request id: a request with this id is in flight"));
      return true;
    }
    spawn_request(h, std::move(in), std::move(key), batch);
    return true;
  }

  // An inline method (routes::is_inline_method), run in arrival order before the next message.
  asio::awaitable<void> on_inline(codecs::inbound in, std::shared_ptr<batch_state> batch) {
    const bool is_hello = in.from == codecs::dialect::op && in.method == "hello";
    const bool is_request = in.type == codecs::message_type::request;
    auto h = routes::find_route(in.method, in.from);
    if (!h) co_return;  // an unknown notification is ignored
    routes::request_context ctx{state, backend, route_opts, in.from};
    ctx.session_label = opts.id;
    codecs::result<json::value> r = co_await h(in, ctx);
    if (!is_request) co_return;
    const bool refused_hello = is_hello && !r;
    json::object msg = in.from == codecs::dialect::op ? op_reply(in, std::move(r))
                                                      : jsonrpc_reply(*in.id, std::move(r));
    deliver(std::move(msg), batch);
    if (refused_hello) request_close(close_code::unauthorized);
  }

  asio::awaitable<void> on_inbound(codecs::inbound in, std::shared_ptr<batch_state> batch) {
    if (on_inbound_now(in, batch)) co_return;
    co_await on_inline(std::move(in), std::move(batch));
  }

  asio::awaitable<void> on_batch(const json::array& a) {
    if (!state.protocol_version || *state.protocol_version != routes::batch_version) {
      send(jsonrpc_error(std::nullopt,
                         codecs::error(errc::invalid_request,
                                       "JSON-RPC batches are accepted only on sessions "
                                       "initialized with protocol version 2025-03-26")));
      co_return;
    }
    auto decoded = codecs::jsonrpc::decode_batch(a, opts.max_batch_elements);
    if (!decoded) {
      send(jsonrpc_error(std::nullopt, decoded.error()));
      co_return;
    }
    auto batch = std::make_shared<batch_state>();
    for (auto& d : *decoded) {
      if (!d) {
        deliver(jsonrpc_error(d.error().id, d.error().err), batch);
        continue;
      }
      // Each element takes an in-flight slot like any request (back-pressure).
      while (!(table.size() < opts.max_inflight) && !close_requested && !writer_done) {
        co_await wait_reader_wake();
      }
      co_await on_inbound(std::move(*d), batch);
    }
    release_batch(batch);
  }

  // What a message left to do that must suspend: an inline method, or a batch.
  struct deferred {
    std::optional<codecs::inbound> inline_message;
    json::value batch;  // the batch's array when it is one
  };

  // One message, as far as it goes without suspending (issue 7: no coroutine frame per message).
  std::optional<deferred> on_message_now(std::string_view text) {
    finished_entries.clear();
    auto parsed = codecs::parse_json(text, opts.limits);
    if (!parsed) {
      send_error_in_dialect(parsed.error());
      return std::nullopt;
    }
    json::value& v = *parsed;
    switch (codecs::classify(v)) {
      case codecs::classification::jsonrpc: {
        note_dialect(codecs::dialect::jsonrpc);
        auto d = codecs::jsonrpc::decode(std::move(v));  // v is not read again
        if (!d) {
          send(jsonrpc_error(d.error().id, d.error().err));
          return std::nullopt;
        }
        if (on_inbound_now(*d, nullptr)) return std::nullopt;
        return deferred{std::move(*d), {}};
      }
      case codecs::classification::jsonrpc_batch:
        note_dialect(codecs::dialect::jsonrpc);
        return deferred{std::nullopt, std::move(v)};
      case codecs::classification::op: {
        note_dialect(codecs::dialect::op);
        auto m = codecs::op::decode_client(v);
        if (!m) {
          auto rid = codecs::op::peek_request_id(v);
          json::value id = rid ? json::value(*rid) : json::value(nullptr);
          send(op_error(id, m.error()));
          return std::nullopt;
        }
        auto in = codecs::op::to_inbound(*m);
        if (on_inbound_now(in, nullptr)) return std::nullopt;
        return deferred{std::move(in), {}};
      }
      case codecs::classification::neither: {
        codecs::error e(errc::unknown_dialect,
                        "neither a JSON-RPC 2.0 message (\"jsonrpc\":\"2.0\") nor an op message "
                        "(a string \"op\")");
        // Keep whatever id it carried, so the client can match the error.
        json::value rid(nullptr);
        std::optional<codecs::client_id> id;
        if (const auto* o = v.if_object()) {
          if (const auto* r = o->if_contains("request_id"); r && r->is_string()) rid = *r;
          if (const auto* i = o->if_contains("id");
              i && (i->is_string() || i->is_int64() || i->is_uint64())) {
            id = codecs::client_id{*i};
          }
        }
        send_error_in_dialect(e, &rid, id);
        return std::nullopt;
      }
    }
    return std::nullopt;
  }

  asio::awaitable<void> run_deferred(deferred d) {
    if (d.inline_message) {
      co_await on_inline(std::move(*d.inline_message), nullptr);
    } else if (const auto* a = d.batch.if_array()) {
      co_await on_batch(*a);
    }
  }

  // ---- the loops -----------------------------------------------------------------------------

  asio::awaitable<void> wait_reader_wake() {
    reader_waiting = true;
    boost::system::error_code ec;
    co_await reader_wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    reader_waiting = false;
  }

  // Reads one message ahead: while the session is full (back-pressure) the next message waits
  // in hand, and when none has come yet a read is still pending, so a client that disconnects
  // while its calls run is noticed at once and they are cancelled (issue 4, disconnect).
  static asio::awaitable<void> reader_loop(std::shared_ptr<impl> self) {
    auto& s = *self;
    for (;;) {
      if (s.close_requested || s.writer_done) co_return;
      std::string_view text;
      auto ec = co_await s.transport->async_read_message(text);
      if (ec == codecs::errc::message_too_large) {
        s.send_error_in_dialect(codecs::error(
            errc::message_too_large,
            "message exceeds the limit of " + std::to_string(s.opts.limits.max_bytes) + " bytes"));
        continue;
      }
      if (ec) {
        s.read_eof = ec == asio::error::eof;
        co_return;
      }
      ++s.stats.messages_in;
      s.stats.bytes_in += text.size();
      metrics::bytes_in().inc(text.size());
      while (!s.can_read()) {
        if (s.close_requested || s.writer_done) co_return;
        co_await s.wait_reader_wake();  // back-pressure: in-flight or queue full
      }
      // `text` lives until the next read; only inline methods and batches suspend here.
      if (auto d = s.on_message_now(text)) co_await s.run_deferred(std::move(*d));
    }
  }

  static asio::awaitable<void> writer_loop(std::shared_ptr<impl> self) {
    auto& s = *self;
    std::vector<std::string> batch;
    try {
      for (;;) {
        while (s.queue.empty() && !s.close_requested) {
          s.writer_waiting = true;
          boost::system::error_code ec;
          co_await s.writer_wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
          s.writer_waiting = false;
        }
        if (s.queue.empty()) break;  // close requested and everything written
        // Everything queued goes out as one batch (one send on WebSocket; issue 7), bounded so
        // a huge backlog still yields to the rest of the executor between sends.
        batch.clear();
        std::size_t batch_bytes = 0;
        while (!s.queue.empty() && batch.size() < max_batch_messages &&
               (batch.empty() || batch_bytes + s.queue.front().size() <= max_batch_bytes)) {
          batch_bytes += s.queue.front().size();
          batch.push_back(std::move(s.queue.front()));
          s.queue.pop_front();
        }
        if (s.reader_waiting) s.reader_wake.cancel();
        boost::system::error_code ec;
        if (batch.size() == 1) {
          ec = co_await s.transport->async_write_message(batch.front());
        } else {
          ec = co_await s.transport->async_write_messages(batch);
        }
        s.pending_bytes -= batch_bytes;
        if (s.over_bound && s.pending_bytes <= s.opts.max_session_bytes / 2) {
          s.over_bound = false;
          if (s.reader_waiting) s.reader_wake.cancel();
        }
        if (ec) {
          EXAI_LOG(debug, "session", "write failed", {"session", s.opts.id},
                   {"error", ec.message()});
          break;
        }
        s.finished_entries.clear();
        s.stats.messages_out += batch.size();
        s.stats.bytes_out += batch_bytes;
        metrics::bytes_out().inc(batch_bytes);
      }
    } catch (const std::exception& ex) {
      EXAI_LOG(warn, "session", "writer stopped", {"session", s.opts.id}, {"error", ex.what()});
    }
    s.writer_done = true;
    s.flushed = true;
    for (const auto& q : s.queue) s.pending_bytes -= q.size();
    s.queue.clear();
    // Replies are out: a shutdown need not wait for the peer's half of the close handshake.
    s.writer_exit.notify_all();
    if (s.reader_waiting) s.reader_wake.cancel();
    try {
      co_await s.transport->async_close(s.close_with);
    } catch (const std::exception&) {
    }
  }

  // Let in-flight requests finish within `grace`, cancel the rest, flush, close.
  static asio::awaitable<void> drain(std::shared_ptr<impl> self, std::chrono::milliseconds grace,
                                     cancel_reason why, close_code code) {
    auto& s = *self;
    // (No co_await inside loop conditions: g++ 12 miscompiles some of those.)
    const auto grace_end = clock::now() + grace;
    while (!s.table.empty()) {
      const bool woken = co_await s.idle.async_wait(grace_end);
      if (!woken) break;
    }
    s.cancel_all(why);
    const auto unwind_end = clock::now() + cancel_unwind_limit;
    while (!s.table.empty()) {
      const bool woken = co_await s.idle.async_wait(unwind_end);
      if (!woken) break;
    }
    if (!s.table.empty()) {
      EXAI_LOG(warn, "session", "requests did not finish after cancellation",
               {"session", s.opts.id}, {"count", s.table.size()});
    }
    s.request_close(code);
    const auto flush_end = clock::now() + final_flush_limit;
    while (!s.flushed) {
      if (co_await s.writer_exit.async_wait(flush_end)) continue;
      EXAI_LOG(warn, "session", "the peer does not take the last replies; giving up on them",
               {"session", s.opts.id}, {"queued", s.queue.size()});
      s.transport->abort_writes();
      break;
    }
    const auto abort_end = clock::now() + cancel_unwind_limit;
    while (!s.flushed) {
      if (!co_await s.writer_exit.async_wait(abort_end)) break;
    }
  }
};

session::session(std::shared_ptr<impl> p) : impl_(std::move(p)) {}
session::~session() = default;

std::shared_ptr<session> session::create(std::unique_ptr<message_transport> transport,
                                         routes::tool_backend& backend,
                                         const routes::route_options& routes,
                                         session_options opts) {
  if (opts.max_inflight == 0) opts.max_inflight = 1;
  if (opts.max_queued == 0) opts.max_queued = 1;
  auto p = std::make_shared<impl>(std::move(transport), backend, routes, std::move(opts));
  return std::make_shared<session>(std::move(p));
}

asio::awaitable<void> session::async_run() {
  auto self = impl_;
  auto& s = *self;
  if (s.started) co_return;
  s.started = true;
  EXAI_LOG(debug, "session", "session opened", {"session", s.opts.id},
           {"transport", s.transport->kind()});
  asio::co_spawn(s.ex, impl::writer_loop(self), asio::detached);
  try {
    co_await impl::reader_loop(self);
  } catch (const std::exception& ex) {
    EXAI_LOG(warn, "session", "reader stopped", {"session", s.opts.id}, {"error", ex.what()});
  }
  try {
    if (s.read_eof && s.transport->replies_after_eof()) {
      co_await impl::drain(self, s.opts.eof_grace, cancel_reason::eof, close_code::normal);
    } else {
      co_await impl::drain(self, std::chrono::milliseconds(0),
                           s.shutting_down ? cancel_reason::shutdown : cancel_reason::disconnect,
                           s.close_with);
    }
  } catch (const std::exception& ex) {
    EXAI_LOG(warn, "session", "drain failed", {"session", s.opts.id}, {"error", ex.what()});
  }
  if (s.counted_dialect) {
    metrics::sessions(s.transport->kind(), dialect_name(*s.counted_dialect)).add(-1);
  }
  EXAI_LOG(debug, "session", "session closed", {"session", s.opts.id},
           {"requests", s.stats.requests}, {"messages_in", s.stats.messages_in},
           {"messages_out", s.stats.messages_out});
}

void session::shutdown(std::chrono::milliseconds grace) {
  auto self = impl_;
  if (self->shutting_down) return;
  self->shutting_down = true;
  asio::co_spawn(self->ex,
                 impl::drain(self, grace, cancel_reason::shutdown, close_code::going_away),
                 asio::detached);
}

void session::notify_tools_changed() {
  auto& s = *impl_;
  if (s.state.protocol_version) s.send(tools_list_changed());
}

asio::awaitable<void> session::async_wait_drained(std::chrono::steady_clock::time_point deadline) {
  auto self = impl_;
  while (!self->flushed) {
    const bool woken = co_await self->writer_exit.async_wait(deadline);
    if (!woken) break;
  }
}

bool session::drained() const noexcept { return impl_->flushed; }

const std::string& session::id() const noexcept { return impl_->opts.id; }
std::size_t session::inflight() const noexcept { return impl_->table.size(); }
const session_stats& session::stats() const noexcept { return impl_->stats; }
asio::any_io_executor session::get_executor() const { return impl_->ex; }

}  // namespace exai::gateway
