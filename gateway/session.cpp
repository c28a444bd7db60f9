// One client session (gateway/session.hpp): in-flight table, per-request coroutines with
// cancellation slots, progress, batches, back-pressure over its outbounds, and the graceful end.
#include "gateway/session.hpp"

#include "codecs/classify.hpp"
#include "codecs/jsonrpc.hpp"
#include "codecs/op.hpp"
#include "gateway/gateway_metrics.hpp"
#include "gateway/memory_trim.hpp"
#include "gateway/reply.hpp"
#include "gateway/subscriptions.hpp"
#include "observability/log.hpp"
#include "routes/era.hpp"
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
#include <unordered_map>
#include <utility>
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

// Why an in-flight request was cancelled; decides what, if anything, the client is sent.
enum class cancel_reason : std::uint8_t {
  none,
  client,      // notifications/cancelled or op cancel: no reply (MCP) / `cancelled` already sent
  disconnect,  // the request's stream is gone: nothing is sent
  shutdown,    // SIGTERM after the grace period: an error reply
  eof,         // its stream was lost under loss_policy::grace and the grace passed: an error reply
  unread,      // a tool call stopped (or never started) because the client is not reading its
               // replies: a tool error saying so
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
  std::shared_ptr<outbound> replies;  // the stream the batch came on
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
  std::shared_ptr<outbound> replies;  // the stream the request came on
  clock::time_point received;
  bool tool_call = false;             // tools/call (call_tool): stopped when the client stalls
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

// What a frame still has to do after session::deliver(): an inline method, or a batch.
struct deferred {
  std::optional<codecs::inbound> inline_message;
  json::value batch;  // the batch's array when it is one
  std::shared_ptr<outbound> replies;
};

}  // namespace

struct session::pending_frame::data {
  deferred d;
};

session::pending_frame::pending_frame(std::unique_ptr<data> d) : d_(std::move(d)) {}
session::pending_frame::pending_frame(pending_frame&&) noexcept = default;
session::pending_frame& session::pending_frame::operator=(pending_frame&&) noexcept = default;
session::pending_frame::~pending_frame() = default;

struct session::impl : std::enable_shared_from_this<session::impl>, outbound_watcher {
  impl(asio::any_io_executor e, routes::tool_backend& b, const routes::route_options& r,
       session_options o)
      : ex(std::move(e)), backend(b), route_opts(r), opts(std::move(o)) {
    state.session_id = opts.id;
    state.authenticated = opts.authenticated;
    state.cancel_request = [this](const codecs::client_id& id, codecs::dialect d) {
      return cancel_key(key_of(d, id), cancel_reason::client);
    };
    state.listen = [this](const routes::era::listen_filter& f, routes::request_context& ctx) {
      return listen(f, ctx);
    };
  }

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
  subscription_set subscriptions{opts.max_subscriptions};

  // The streams replies were pushed to, or may be, until each ends (on_ended). Few: one for
  // WebSocket and stdio.
  std::vector<std::shared_ptr<outbound>> streams;
  std::shared_ptr<outbound> notifications;
  // Replies in the streams' queues, not yet taken by their writers (max_queued).
  std::size_t queued = 0;
  // Reply bytes queued, being written, or held for unfinished batches (max_session_bytes).
  std::size_t pending_bytes = 0;
  // A reply was refused for the bound: reading stays paused until half of it has been written.
  bool over_bound = false;
  waiters room;           // notified when a frame may be taken again, or a stream stops reading
  waiters idle;           // notified when the table becomes empty
  waiters streams_ended;  // notified when a stream has ended

  codecs::dialect last_dialect = codecs::dialect::jsonrpc;
  std::optional<codecs::dialect> counted_dialect;  // for the sessions gauge
  std::string counted_kind;                        // the stream kind it was counted under
  bool opened_logged = false;
  bool closed_logged = false;
  bool shutting_down = false;
  bool close_requested = false;
  close_code close_with = close_code::normal;

  // Close requested and every stream has written its replies and ended (or failed).
  bool flushed() const noexcept { return close_requested && streams.empty(); }

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

  // ---- streams -------------------------------------------------------------------------------

  void attach(const std::shared_ptr<outbound>& stream) {
    for (const auto& s : streams) {
      if (s == stream) return;
    }
    if (stream->ended()) return;
    stream->watch(weak_from_this());
    streams.push_back(stream);
    if (!opened_logged) {
      opened_logged = true;
      EXAI_LOG(debug, "session", "session opened", {"session", opts.id},
               {"transport", stream->kind()});
    }
    if (close_requested) stream->close(close_with);
  }

  void on_taken(const outbound&, std::size_t messages) noexcept override {
    queued -= messages;
    room.notify_all();
  }

  void on_written(const outbound&, std::size_t messages, std::size_t bytes,
                  bool ok) noexcept override {
    pending_bytes -= bytes;
    if (over_bound && pending_bytes <= opts.max_session_bytes / 2) {
      over_bound = false;
      room.notify_all();
    }
    if (!ok) {
      EXAI_LOG(debug, "session", "write failed", {"session", opts.id});
      return;
    }
    finished_entries.clear();
    stats.messages_out += messages;
    stats.bytes_out += bytes;
    metrics::bytes_out().inc(bytes);
  }

  void on_ended(const outbound& from, std::size_t dropped,
                std::size_t dropped_bytes) noexcept override {
    queued -= dropped;
    pending_bytes -= dropped_bytes;
    std::erase_if(streams, [&](const std::shared_ptr<outbound>& s) { return s.get() == &from; });
    // Replies are out: a shutdown need not wait for the peer's half of the close handshake.
    streams_ended.notify_all();
    room.notify_all();
  }

  // ---- output --------------------------------------------------------------------------------

  // To the request's stream while it lasts, else to the notification stream.
  void send_text(std::string text, const std::shared_ptr<outbound>& to) {
    if (close_requested) return;
    outbound* target = to && !to->ended() ? to.get() : notifications.get();
    if (!target || target->ended()) return;
    const std::size_t size = text.size();
    if (target->push(std::move(text)) != push_result::queued) return;
    pending_bytes += size;
    ++queued;
  }

  void send(const json::object& msg, const std::shared_ptr<outbound>& to) {
    send_text(json::serialize(msg), to);
  }

  void deliver(std::string text, const std::shared_ptr<batch_state>& batch,
               const std::shared_ptr<outbound>& to) {
    if (batch) {
      batch->bytes += text.size();
      pending_bytes += text.size();
      batch->responses.push_back(std::move(text));
    } else {
      send_text(std::move(text), to);
    }
  }

  void deliver(const json::object& msg, const std::shared_ptr<batch_state>& batch,
               const std::shared_ptr<outbound>& to) {
    deliver(json::serialize(msg), batch, to);
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
    send_text(std::move(text), batch->replies);
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
  void send_error_in_dialect(const std::shared_ptr<outbound>& to, const codecs::error& e,
                             const json::value* request_id = nullptr,
                             const std::optional<codecs::client_id>& id = std::nullopt) {
    if (last_dialect == codecs::dialect::op) {
      send(op_error(request_id ? *request_id : json::value(nullptr), e), to);
    } else {
      send(jsonrpc_error(id, e), to);
    }
  }

  // Every stream is closed once what it holds is written; nothing more is sent or read.
  void request_close(close_code code) {
    if (close_requested) return;
    close_with = code;
    close_requested = true;
    // close() never calls back, so the list does not change under the loop.
    for (const auto& s : streams) s->close(code);
    room.notify_all();
  }

  // The reply queues are at a bound: advisory messages (progress, listen notifications) are
  // dropped and reading pauses.
  bool replies_full() const noexcept {
    return queued >= opts.max_queued || pending_bytes >= opts.max_session_bytes;
  }

  bool can_read() const noexcept {
    return !close_requested && table.size() < opts.max_inflight && !replies_full() && !over_bound;
  }

  bool accepting(const outbound& stream) const noexcept {
    return !close_requested && !stream.ended();
  }

  // ---- subscriptions/listen (gateway/subscriptions.hpp) ----------------------------------------

  // Listen-stream notifications are advisory like progress: dropped while the client is not
  // reading (the bounds are full) rather than queued without limit.
  subscription_set::sender subscription_sender() {
    return [this](std::string text, const std::shared_ptr<outbound>& to) {
      if (replies_full()) {
        ++stats.progress_dropped;
        return;
      }
      send_text(std::move(text), to);
    };
  }

  // The listen request ctx names (its in-flight entry gives its id and stream).
  asio::awaitable<codecs::result<json::value>> listen(routes::era::listen_filter f,
                                                      routes::request_context& ctx) {
    auto self = shared_from_this();
    auto it = table.find(ctx.client_key);
    if (it == table.end() || !it->second->id) {
      co_return codecs::error(errc::internal, "subscriptions/listen without its request");
    }
    auto e = it->second;
    if (e->batch) {
      // A batch is answered as one array once every element is: a listen would hold it forever.
      co_return codecs::error(errc::invalid_request,
                              "subscriptions/listen cannot be part of a JSON-RPC batch");
    }
    co_return co_await subscriptions.async_listen(e->id->value, f, e->replies,
                                                  subscription_sender());
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
    if (replies_full()) {
      // Advisory: dropped rather than blocking the tool.
      ++stats.progress_dropped;
      return;
    }
    if (!u.log_level.empty()) {  // a log line: notifications/message at or above the threshold
      const auto severity = routes::log_severity(u.log_level);
      if (e.log_threshold && severity && *severity >= *e.log_threshold) {
        send(routes::log_notification(u), e.replies);  // on the request's own stream
      }
      return;
    }
    if (e.dialect == codecs::dialect::op) {
      send(op_progress(e.id ? &*e.id : nullptr, u), e.replies);
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
    send(mcp_progress(*e.progress_token, value, u.total, u.message), e.replies);
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
                     const std::shared_ptr<batch_state>& batch,
                     const std::shared_ptr<outbound>& replies) {
    auto e = std::make_shared<inflight_entry>();
    e->replies = replies;
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
    e->tool_call = tools_call;
    auto& request = e->in.emplace(std::move(in));
    if (tools_call && over_bound) {
      // The client does not read what it has been sent: the call is answered unrun rather than
      // making a backend build a result that would be dropped.
      e->reason = cancel_reason::unread;
      finish_request(*e, request, ctx, codecs::error(errc::cancelled, "cancelled"));
      return;
    }

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
      // a later turn. The session's next delivered frame or written batch is one, which spares
      // a post per call; a session that is going away posts.
      if (self.use_count() > 1) {
        self->finished_entries.push_back(std::move(e));
      } else {
        asio::post(self->ex, [e = std::move(e), self = std::move(self)]() {});
      }
    };
    if (tools_call) {
      // A tool call waits for its backend: the route's coroutine is spawned itself and the
      // session's part runs in the completion handler (no coroutine frame of the session's own
      // per call).
      asio::co_spawn(ex, h(request, ctx), asio::bind_cancellation_slot(slot, std::move(done)));
    } else {
      // Anything else may finish without waiting: run_request queues its reply on the same
      // turn, before the next frame is taken (back-pressure on a stalled stream).
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
    if (reply && e.reason == cancel_reason::unread && (r || r.error().code == errc::cancelled)) {
      // A result that raced the stop is dropped all the same: the client is not reading.
      r = json::value(codecs::jsonrpc::to_call_tool_result(codecs::tool_result::text(
          "the call was stopped: the client is not reading its replies (" +
              std::to_string(pending_bytes) + " bytes wait to be sent, limit " +
              std::to_string(opts.max_session_bytes) + " per session)",
          true)));
    }
    if (reply) {
      if (!r && r.error().code == errc::cancelled) {
        r = codecs::error(errc::shutting_down,
                          e.reason == cancel_reason::eof
                              ? "input closed; the call was cancelled after the grace period"
                              : "the gateway is shutting down; the call was cancelled");
      }
      std::string text = reply_text(e, in, std::move(r));
      const bool was_over = over_bound;
      // A stopped call's own short error always goes out (it already says why).
      auto why = e.reason == cancel_reason::unread ? std::nullopt
                                                   : refuse_reply(text.size(), e.batch.get());
      if (why) {
        if (!was_over && over_bound) stop_unread_calls_soon();
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
      deliver(std::move(text), e.batch, e.replies);
    }
    if (e.batch) release_batch(e.batch);
    room.notify_all();
    if (table.empty()) idle.notify_all();
  }

  // The client has stopped reading (a reply was refused for the byte bound): its tool calls still
  // running are stopped (the backend told, so a daemon skips work it has not started) and answered
  // with a tool error; its new ones are answered so unrun (spawn_request) until it has read half
  // of what waits. Posted: this runs from finish_request, and stopping a call may finish another.
  void stop_unread_calls_soon() {
    auto owner = weak_from_this().lock();
    if (!owner) return;
    asio::post(ex, [self = std::move(owner)] {
      if (!self->over_bound) return;
      std::vector<std::shared_ptr<inflight_entry>> running;
      for (auto& [k, e] : self->table)
        if (e->tool_call && !e->done && e->reason == cancel_reason::none) running.push_back(e);
      if (running.empty()) return;
      EXAI_LOG(warn, "session", "client not reading: its running tool calls are stopped",
               {"session", self->opts.id}, {"calls", running.size()},
               {"pending_bytes", self->pending_bytes});
      for (auto& e : running) {
        if (e->done || e->reason != cancel_reason::none) continue;
        e->reason = cancel_reason::unread;
        e->signal.emit(asio::cancellation_type::terminal);
      }
    });
  }

  // ---- inbound -------------------------------------------------------------------------------

  void note_dialect(codecs::dialect d, const outbound& from) {
    last_dialect = d;
    if (!counted_dialect) {
      counted_dialect = d;
      counted_kind = from.kind();
      metrics::sessions(counted_kind, dialect_name(d)).add(1);
    }
  }

  // A message on a connection that has not authenticated (token required, no Bearer on the
  // upgrade): refused like the reference daemon refuses a first message that is not hello.
  void refuse_unauthenticated(const codecs::inbound& in, const std::shared_ptr<outbound>& to) {
    if (in.from == codecs::dialect::op) {
      send(op_hello_refused("missing_hello"), to);
      request_close(close_code::missing_hello);
    } else {
      if (in.type == codecs::message_type::request) {
        send(jsonrpc_error(in.id, codecs::error(errc::unauthorized,
                                                "unauthorized: send Authorization: Bearer <token> "
                                                "with the WebSocket upgrade")),
             to);
      }
      request_close(close_code::policy_violation);
    }
  }

  // One decoded message, without suspending: requests are spawned, refusals answered. Returns
  // false for the inline methods (handshakes, notifications, op cancel), which the caller runs
  // through on_inline: only they need a coroutine here, so an ordinary call costs no coroutine
  // frame before its own.
  bool on_inbound_now(codecs::inbound& in, const std::shared_ptr<batch_state>& batch,
                      const std::shared_ptr<outbound>& to) {
    if (in.type == codecs::message_type::response) return true;  // we send clients no requests
    const bool is_hello = in.from == codecs::dialect::op && in.method == "hello";
    if (!state.authenticated && !is_hello) {
      refuse_unauthenticated(in, to);
      return true;
    }
    if (routes::is_inline_method(in.method, in.from)) return false;
    if (in.type != codecs::message_type::request) return true;  // unknown notifications: ignored

    auto reply_error = [&](codecs::error err) {
      json::object msg = in.from == codecs::dialect::op ? op_reply(in, std::move(err))
                                                        : jsonrpc_error(in.id, err);
      deliver(std::move(msg), batch, to);
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
      // only way to tell the client.
      reply_error(codecs::error(errc::invalid_request,
                                "duplicate request id: a request with this id is in flight"));
      return true;
    }
    spawn_request(h, std::move(in), std::move(key), batch, to);
    return true;
  }

  // An inline method (routes::is_inline_method), run in arrival order before the next message.
  asio::awaitable<void> on_inline(codecs::inbound in, std::shared_ptr<batch_state> batch,
                                  std::shared_ptr<outbound> to) {
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
    deliver(std::move(msg), batch, to);
    if (refused_hello) request_close(close_code::unauthorized);
  }

  asio::awaitable<void> on_inbound(codecs::inbound in, std::shared_ptr<batch_state> batch,
                                   std::shared_ptr<outbound> to) {
    if (on_inbound_now(in, batch, to)) co_return;
    co_await on_inline(std::move(in), std::move(batch), std::move(to));
  }

  asio::awaitable<void> on_batch(const json::array& a, std::shared_ptr<outbound> to) {
    if (!state.protocol_version || *state.protocol_version != routes::batch_version) {
      send(jsonrpc_error(std::nullopt,
                         codecs::error(errc::invalid_request,
                                       "JSON-RPC batches are accepted only on sessions "
                                       "initialized with protocol version 2025-03-26")),
           to);
      co_return;
    }
    auto decoded = codecs::jsonrpc::decode_batch(a, opts.max_batch_elements);
    if (!decoded) {
      send(jsonrpc_error(std::nullopt, decoded.error()), to);
      co_return;
    }
    auto batch = std::make_shared<batch_state>();
    batch->replies = to;
    bool first = true;
    for (auto& d : *decoded) {
      // One element per turn of the event loop, as if each had come in a message of its own: a
      // full batch of pings otherwise took 70 % of the loop from the other sessions (issue 14's
      // hostile bench row: their calls/s fell from 340k to 100k, p99 from 14 to 35 ms).
      if (!std::exchange(first, false)) co_await asio::post(ex, asio::use_awaitable);
      if (!d) {
        deliver(jsonrpc_error(d.error().id, d.error().err), batch, to);
        continue;
      }
      // Each element takes an in-flight slot like any request (back-pressure).
      while (!(table.size() < opts.max_inflight) && accepting(*to)) {
        co_await room.async_wait(clock::time_point::max());
      }
      co_await on_inbound(std::move(*d), batch, to);
    }
    release_batch(batch);
  }

  // One message, as far as it goes without suspending (no coroutine frame per message).
  std::optional<deferred> on_message_now(std::string_view text,
                                         const std::shared_ptr<outbound>& to) {
    finished_entries.clear();
    auto parsed = codecs::parse_json(text, opts.limits);
    if (!parsed) {
      send_error_in_dialect(to, parsed.error());
      return std::nullopt;
    }
    json::value& v = *parsed;
    switch (codecs::classify(v)) {
      case codecs::classification::jsonrpc: {
        note_dialect(codecs::dialect::jsonrpc, *to);
        auto d = codecs::jsonrpc::decode(std::move(v));  // v is not read again
        if (!d) {
          send(jsonrpc_error(d.error().id, d.error().err), to);
          return std::nullopt;
        }
        if (on_inbound_now(*d, nullptr, to)) return std::nullopt;
        return deferred{std::move(*d), {}, to};
      }
      case codecs::classification::jsonrpc_batch:
        note_dialect(codecs::dialect::jsonrpc, *to);
        return deferred{std::nullopt, std::move(v), to};
      case codecs::classification::op: {
        note_dialect(codecs::dialect::op, *to);
        auto m = codecs::op::decode_client(v);
        if (!m) {
          auto rid = codecs::op::peek_request_id(v);
          json::value id = rid ? json::value(*rid) : json::value(nullptr);
          send(op_error(id, m.error()), to);
          return std::nullopt;
        }
        auto in = codecs::op::to_inbound(*m);
        if (on_inbound_now(in, nullptr, to)) return std::nullopt;
        return deferred{std::move(in), {}, to};
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
        send_error_in_dialect(to, e, &rid, id);
        return std::nullopt;
      }
    }
    return std::nullopt;
  }

  asio::awaitable<void> run_deferred(deferred d) {
    if (d.inline_message) {
      co_await on_inline(std::move(*d.inline_message), nullptr, std::move(d.replies));
    } else if (const auto* a = d.batch.if_array()) {
      co_await on_batch(*a, std::move(d.replies));
    }
  }

  // ---- lost streams and the end -----------------------------------------------------------

  bool any_running_on(const outbound& stream) const {
    for (const auto& [k, e] : table) {
      if (e->replies.get() == &stream && !e->done && e->reason == cancel_reason::none) return true;
    }
    return false;
  }

  void cancel_on(const outbound& stream, cancel_reason why) {
    std::vector<std::shared_ptr<inflight_entry>> running;
    for (auto& [k, e] : table) {
      if (e->replies.get() == &stream && !e->done && e->reason == cancel_reason::none) {
        running.push_back(e);
      }
    }
    for (auto& e : running) {
      if (e->done || e->reason != cancel_reason::none) continue;
      e->reason = why;
      if (why == cancel_reason::disconnect) metrics::client_cancels().inc();
      e->signal.emit(asio::cancellation_type::terminal);
    }
  }

  // The requests of a lost stream get eof_grace, then are cancelled and answered.
  static asio::awaitable<void> grace_then_cancel(std::shared_ptr<impl> self,
                                                 std::shared_ptr<outbound> stream) {
    auto& s = *self;
    const auto grace_end = clock::now() + s.opts.eof_grace;
    while (s.any_running_on(*stream)) {
      const bool woken = co_await s.room.async_wait(grace_end);
      if (!woken) break;
    }
    s.cancel_on(*stream, cancel_reason::eof);
  }

  void note_closed() {
    if (closed_logged) return;
    closed_logged = true;
    if (counted_dialect) metrics::sessions(counted_kind, dialect_name(*counted_dialect)).add(-1);
    EXAI_LOG(debug, "session", "session closed", {"session", opts.id},
             {"requests", stats.requests}, {"messages_in", stats.messages_in},
             {"messages_out", stats.messages_out});
  }

  // Let in-flight requests finish within `grace` (max(): however long they take), cancel the
  // rest, flush, close.
  static asio::awaitable<void> drain(std::shared_ptr<impl> self, std::chrono::milliseconds grace,
                                     cancel_reason why, close_code code) {
    auto& s = *self;
    // Listen streams never finish by themselves: they end now, each with its result.
    s.subscriptions.end_all();
    // (No co_await inside loop conditions: g++ 12 miscompiles some of those.)
    const auto grace_end = grace == std::chrono::milliseconds::max() ? clock::time_point::max()
                                                                     : clock::now() + grace;
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
    while (!s.flushed()) {
      if (co_await s.streams_ended.async_wait(flush_end)) continue;
      EXAI_LOG(warn, "session", "the peer does not take the last replies; giving up on them",
               {"session", s.opts.id}, {"queued", s.queued});
      // abort() never calls back; the streams end later, from their writers.
      for (const auto& stream : s.streams) stream->abort();
      break;
    }
    const auto abort_end = clock::now() + cancel_unwind_limit;
    while (!s.flushed()) {
      if (!co_await s.streams_ended.async_wait(abort_end)) break;
    }
    s.note_closed();
  }
};

session::session(std::shared_ptr<impl> p) : impl_(std::move(p)) {}
session::~session() = default;

std::shared_ptr<session> session::create(asio::any_io_executor ex, routes::tool_backend& backend,
                                         const routes::route_options& routes,
                                         session_options opts) {
  if (opts.max_inflight == 0) opts.max_inflight = 1;
  if (opts.max_queued == 0) opts.max_queued = 1;
  auto p = std::make_shared<impl>(std::move(ex), backend, routes, std::move(opts));
  return std::make_shared<session>(std::move(p));
}

void session::set_notifications(std::shared_ptr<outbound> stream) {
  auto& s = *impl_;
  if (stream) s.attach(stream);
  s.notifications = std::move(stream);
}

std::optional<session::pending_frame> session::deliver(std::string_view frame,
                                                       const std::shared_ptr<outbound>& replies) {
  auto& s = *impl_;
  s.attach(replies);
  ++s.stats.messages_in;
  s.stats.bytes_in += frame.size();
  metrics::bytes_in().inc(frame.size());
  auto d = s.on_message_now(frame, replies);
  if (!d) return std::nullopt;
  return pending_frame(std::make_unique<pending_frame::data>(pending_frame::data{std::move(*d)}));
}

asio::awaitable<void> session::async_finish(pending_frame rest) {
  auto self = impl_;
  co_await self->run_deferred(std::move(rest.d_->d));
}

asio::awaitable<void> session::async_deliver(std::string frame, std::shared_ptr<outbound> replies) {
  if (auto rest = deliver(frame, replies)) co_await async_finish(std::move(*rest));
}

void session::deliver_oversize(const std::shared_ptr<outbound>& replies) {
  auto& s = *impl_;
  s.attach(replies);
  s.send_error_in_dialect(
      replies, codecs::error(errc::message_too_large, "message exceeds the limit of " +
                                                          std::to_string(s.opts.limits.max_bytes) +
                                                          " bytes"));
}

bool session::accepting(const outbound& stream) const noexcept {
  return impl_->accepting(stream);
}

asio::awaitable<bool> session::async_wait_room(const outbound& stream) {
  auto self = impl_;
  for (;;) {
    if (!self->accepting(stream)) co_return false;
    if (self->can_read()) co_return true;
    co_await self->room.async_wait(clock::time_point::max());
  }
}

void session::stream_lost(const outbound& stream, loss_policy policy) {
  auto self = impl_;
  switch (policy) {
    case loss_policy::cancel:
      self->cancel_on(stream, cancel_reason::disconnect);
      break;
    case loss_policy::grace: {
      std::shared_ptr<outbound> held;
      for (const auto& [k, e] : self->table) {
        if (e->replies.get() == &stream) {
          held = e->replies;
          break;
        }
      }
      if (held) {
        asio::co_spawn(self->ex, impl::grace_then_cancel(self, std::move(held)), asio::detached);
      }
      break;
    }
    case loss_policy::keep:
      break;
  }
}

asio::awaitable<void> session::async_end(loss_policy policy) {
  auto self = impl_;
  auto& s = *self;
  try {
    switch (policy) {
      case loss_policy::grace:
        co_await impl::drain(self, s.opts.eof_grace, cancel_reason::eof, close_code::normal);
        break;
      case loss_policy::keep:
        co_await impl::drain(self, std::chrono::milliseconds::max(),
                             s.shutting_down ? cancel_reason::shutdown : cancel_reason::disconnect,
                             s.close_with);
        break;
      case loss_policy::cancel:
        co_await impl::drain(self, std::chrono::milliseconds(0),
                             s.shutting_down ? cancel_reason::shutdown : cancel_reason::disconnect,
                             s.close_with);
        break;
    }
  } catch (const std::exception& ex) {
    EXAI_LOG(warn, "session", "drain failed", {"session", s.opts.id}, {"error", ex.what()});
  }
  s.note_closed();
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
  if (s.state.protocol_version) s.send(tools_list_changed(), s.notifications);
  s.subscriptions.tools_changed(s.subscription_sender());
}

std::size_t session::subscriptions() const noexcept { return impl_->subscriptions.size(); }

asio::awaitable<void> session::async_wait_drained(std::chrono::steady_clock::time_point deadline) {
  auto self = impl_;
  while (!self->flushed()) {
    const bool woken = co_await self->streams_ended.async_wait(deadline);
    if (!woken) break;
  }
}

bool session::drained() const noexcept { return impl_->flushed(); }

const std::string& session::id() const noexcept { return impl_->opts.id; }
std::size_t session::inflight() const noexcept { return impl_->table.size(); }
const session_stats& session::stats() const noexcept { return impl_->stats; }
asio::any_io_executor session::get_executor() const { return impl_->ex; }

}  // namespace exai::gateway
