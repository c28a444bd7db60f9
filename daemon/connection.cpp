// One connection's op-protocol behaviour: handshake, serial (reference) or multiplexed dispatch,
// real cancellation, progress, results and errors that always carry op and request_id
// (exai-op-protocol.md sections 2-4). Asio only; the transport lives in ws_server.cpp.
#include "daemon/connection.hpp"

#include "daemon/daemon_metrics.hpp"
#include "observability/log.hpp"
#include "observability/metric_names.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/serializer.hpp>

#include <algorithm>
#include <chrono>

namespace exai::daemon {

namespace asio = boost::asio;
namespace json = boost::json;
namespace op = codecs::op;
namespace names = obs::names;
using codecs::errc;
using clock_type = std::chrono::steady_clock;

struct op_connection::heartbeat_state {
  explicit heartbeat_state(const asio::any_io_executor& ex) : timer(ex) {}
  asio::steady_timer timer;
  bool done = false;
};

struct op_connection::call_state {
  asio::cancellation_signal signal;
  bool cancelled_by_client = false;    // `cancel` with the cancel extension: no result is sent
  bool cancelled_by_shutdown = false;  // grace period over: SERVICE_UNAVAILABLE is sent
  bool done = false;
  std::shared_ptr<heartbeat_state> heartbeat;
};

namespace {

std::string_view outcome_of(const codecs::result<codecs::tool_result>& r) {
  if (r) return r->is_error ? names::outcome_error : names::outcome_ok;
  if (r.error().code == errc::timeout) return names::outcome_timeout;
  if (r.error().code == errc::cancelled) return names::outcome_cancelled;
  return names::outcome_error;
}

double unix_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

// The reference daemon lists {name, description, inputSchema} only (section 3).
json::array reference_tools(const json::array& tools) {
  json::array out;
  for (const auto& t : tools) {
    const auto& o = t.as_object();
    json::object r;
    r["name"] = o.at("name");
    r["description"] = o.at("description");
    r["inputSchema"] = o.at("inputSchema");
    out.push_back(std::move(r));
  }
  return out;
}

// Results whose content carries at least this many bytes are encoded on the tool host's CPU
// workers, not on the connection's event loop (an 8 MiB text costs tens of milliseconds).
constexpr std::size_t offload_bytes = 256 * 1024;

// The bytes of a result's content blocks' string fields: what its message will at least carry.
std::size_t payload_bytes(const codecs::tool_result& r) {
  std::size_t n = 0;
  for (const auto& block : r.content)
    if (const auto* o = block.if_object())
      for (const auto& field : *o)
        if (const auto* str = field.value().if_string()) n += str->size();
  return n;
}

// json::serialize grows its output by doubling from a small buffer; one allocation of about the
// right size instead (it still grows if the hint was short).
std::string serialize_sized(const json::object& o, std::size_t hint) {
  json::serializer sr;
  sr.reset(&o);
  std::string out(hint, '\0');
  std::size_t used = 0;
  while (!sr.done()) {
    if (used == out.size()) out.resize(out.size() * 2 + 256);
    used += sr.read(out.data() + used, out.size() - used).size();
  }
  out.resize(used);
  return out;
}

// The frames that answer a call with a result: its call_tool_res (after stream_complete in
// reference mode). The content and structured values move into the message, never copied.
std::vector<std::string> result_frames(codecs::tool_result r, const std::string& request_id,
                                       bool compat_reference, std::size_t payload) {
  std::vector<std::string> frames;
  op::call_tool_res res;
  res.request_id = request_id;
  res.outputs = json::array();  // placeholders keep the keys in the encoder's order
  if (!compat_reference) {
    res.is_error = r.is_error;
    if (r.structured) res.structured = json::object();
  }
  if (compat_reference) frames.push_back(json::serialize(op::encode(op::stream_complete{request_id})));
  auto o = op::encode(res);
  o["outputs"] = std::move(r.content);
  if (!compat_reference && r.structured) o["structured"] = std::move(*r.structured);
  frames.push_back(serialize_sized(o, payload + payload / 64 + 256));
  return frames;
}

struct encode_job {
  codecs::tool_result result;
  std::string request_id;
  bool compat_reference = false;
  std::size_t payload = 0;
  std::vector<std::string> frames;
};

}  // namespace

op_connection::op_connection(asio::any_io_executor ex, tool_host& host, const connection_settings& s,
                             std::string peer, std::string generated_session_id)
    : ex_(ex),
      host_(host),
      settings_(s),
      peer_(std::move(peer)),
      session_(s.session, std::move(generated_session_id)),
      writer_wake_(ex),
      reader_wake_(ex),
      hello_timer_(ex),
      serial_wake_(ex) {}

op_connection::~op_connection() {
  if (session_counted_) {
    host_.session_closed();
    metrics().sessions.add(-1);
  }
}

void op_connection::start() { asio::co_spawn(ex_, hello_watch(shared_from_this()), asio::detached); }

asio::awaitable<void> op_connection::hello_watch(std::shared_ptr<op_connection> self) {
  self->hello_timer_.expires_after(self->settings_.hello_timeout);
  boost::system::error_code ec;
  co_await self->hello_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (ec || self->finished_ || self->session_.state() != session::phase::awaiting_hello) co_return;
  auto step = self->session_.on_hello_timeout();
  EXAI_LOG(warn, "daemon", "no hello in time; closing", {"peer", self->peer_},
           {"timeout_ms", static_cast<std::int64_t>(self->settings_.hello_timeout.count())});
  if (step.close) self->close(*step.close, step.close_reason);
}

asio::awaitable<void> op_connection::async_deliver(std::string text) {
  if (finished_ || closing_) co_return;  // after a close is queued, input is ignored
  metrics().bytes_in.inc(text.size());
  if (session_.state() == session::phase::awaiting_hello)
    handshake(text);
  else if (session_.state() == session::phase::open)
    dispatch(session_.classify(text));

  // Back-pressure (house-style 5): stop reading while too much waits, rather than buffer without
  // bound. A multiplexed connection is bounded by max_inflight through admission instead.
  while (!finished_ && over_limits()) {
    reader_wake_.expires_at(clock_type::time_point::max());
    boost::system::error_code ec;
    co_await reader_wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

bool op_connection::over_limits() const {
  return queued_bytes_ > settings_.max_queued_bytes ||
         serial_queue_.size() >= settings_.session.max_inflight;
}

void op_connection::handshake(std::string_view text) {
  auto step = session_.on_first_message(text);
  if (step.reply) push(*step.reply);
  if (step.close) {
    EXAI_LOG(warn, "daemon", "handshake refused", {"peer", peer_}, {"reason", step.close_reason},
             {"close_code", static_cast<int>(*step.close)});
    close(*step.close, step.close_reason);
    return;
  }
  hello_timer_.cancel();
  host_.session_opened();
  metrics().sessions.add(1);
  session_counted_ = true;
  const auto& g = session_.granted();
  EXAI_LOG(info, "daemon", "session opened", {"session", session_.id()}, {"peer", peer_},
           {"multiplex", g.multiplex}, {"cancel", g.cancel}, {"progress", g.progress});
  if (session_.serial()) asio::co_spawn(ex_, serial_loop(shared_from_this()), asio::detached);
}

void op_connection::dispatch(request r) {
  const bool can_cancel = session_.granted().cancel;
  if (session_.serial()) {
    // Reference behaviour: one message at a time, replies in request order. A negotiated
    // `cancel` is the exception: it acts at once on the running or a queued call.
    if (auto* c = std::get_if<req::cancel>(&r); c && can_cancel) {
      handle_cancel(c->request_id);
      return;
    }
    serial_queue_.push_back(std::move(r));
    serial_wake_.cancel();
    return;
  }
  if (auto* c = std::get_if<req::call>(&r)) {
    start_call(std::move(*c));
    return;
  }
  if (auto* c = std::get_if<req::cancel>(&r); c && can_cancel) {
    handle_cancel(c->request_id);
    return;
  }
  answer_now(r);
}

void op_connection::handle_cancel(const std::string& request_id) {
  if (auto it = calls_.find(request_id); it != calls_.end()) {
    auto st = it->second;
    st->cancelled_by_client = true;
    // The id is free again at once: a client may reuse it after `cancelled` (no poisoning).
    calls_.erase(it);
    session_.finished(request_id);
    metrics().client_cancels.inc();
    st->signal.emit(asio::cancellation_type::terminal);
  } else if (drop_queued_result(request_id)) {
    // Finished, but its result had not been written yet: it never will be.
    metrics().client_cancels.inc();
  } else {
    for (auto q = serial_queue_.begin(); q != serial_queue_.end(); ++q) {
      if (auto* c = std::get_if<req::call>(&*q); c && c->request_id == request_id) {
        serial_queue_.erase(q);
        metrics().client_cancels.inc();
        notify_reader();
        break;
      }
    }
  }
  // Section 4: `cancelled` and no call_tool_res. An unknown or finished id is acknowledged the
  // same way (the reference daemon acknowledges every cancel).
  push(op::encode(op::cancelled{request_id}));
}

void op_connection::answer_now(request& r) {
  struct visitor {
    op_connection& c;
    void operator()(req::reply& m) const { c.push(m.msg); }
    void operator()(req::list_tools& m) const {
      op::list_tools_res res;
      auto tools = c.host_.list();
      res.tools = c.settings_.session.compat_reference ? reference_tools(tools) : std::move(tools);
      res.timestamp = json::value(unix_seconds());
      auto o = op::encode(res);
      o["request_id"] = id_value(m.request_id);
      c.push(o);
      metrics().requests("list_tools", "", names::outcome_ok).inc();
    }
    void operator()(req::ping& m) const {
      auto o = op::encode(op::pong{});
      o["request_id"] = id_value(m.request_id);
      c.push(o);
    }
    void operator()(req::cancel& m) const {
      // Without the cancel extension (and always in --compat reference): acknowledged only; the
      // call keeps running and its result is still sent (reference hazard 3).
      c.push(op::encode(op::cancelled{m.request_id}));
    }
    void operator()(req::call&) const {}  // never answered here
  };
  std::visit(visitor{*this}, r);
}

void op_connection::start_call(req::call c) {
  switch (session_.admit(c.request_id)) {
    case session::admission::ok:
      break;
    case session::admission::duplicate:
      // The running call keeps its id and its reply; only the newcomer is refused.
      push(call_error(json::value(c.request_id), errc::invalid_request,
                      "request_id '" + c.request_id + "' is already in flight on this connection"));
      metrics().requests("call_tool", "", names::outcome_error).inc();
      return;
    case session::admission::over_capacity:
      push(call_error(json::value(c.request_id), errc::over_capacity,
                      "more than " + std::to_string(settings_.session.max_inflight) +
                          " calls in flight on this connection"));
      metrics().requests("call_tool", "", names::outcome_error).inc();
      return;
    case session::admission::shutting_down:
      push(call_error(json::value(c.request_id), errc::shutting_down, "the daemon is shutting down"));
      metrics().requests("call_tool", "", names::outcome_error).inc();
      return;
  }
  auto st = std::make_shared<call_state>();
  calls_.emplace(c.request_id, st);
  spawn_call(std::move(c), std::move(st));
}

void op_connection::spawn_call(req::call c, std::shared_ptr<call_state> st) {
  auto& slot_owner = st->signal;
  // The completion handler keeps the call state (and so the signal the spawned coroutine's
  // cancellation state points into) alive until the coroutine has fully unwound: it is released
  // one turn later, from a posted handler.
  auto ex = ex_;
  asio::co_spawn(ex_, execute(shared_from_this(), std::move(c), st),
                 asio::bind_cancellation_slot(slot_owner.slot(), [st, ex](std::exception_ptr) mutable {
                   asio::post(ex, [keep = std::move(st)] {});
                 }));
}

asio::awaitable<void> op_connection::serial_loop(std::shared_ptr<op_connection> self) {
  while (!self->finished_ && !self->closing_) {
    if (self->serial_queue_.empty()) {
      self->serial_wake_.expires_at(clock_type::time_point::max());
      boost::system::error_code ec;
      co_await self->serial_wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    request r = std::move(self->serial_queue_.front());
    self->serial_queue_.pop_front();
    self->notify_reader();
    auto* c = std::get_if<req::call>(&r);
    if (!c) {
      self->answer_now(r);
      continue;
    }
    if (self->session_.admit(c->request_id) != session::admission::ok) {
      // Serial calls never overlap, so only shutdown refuses one here.
      self->push(call_error(json::value(c->request_id), errc::shutting_down, "the daemon is shutting down"));
      continue;
    }
    auto st = std::make_shared<call_state>();
    self->calls_.emplace(c->request_id, st);
    self->spawn_call(std::move(*c), st);
    while (!st->done && !self->finished_) {
      self->serial_wake_.expires_at(clock_type::time_point::max());
      boost::system::error_code ec;
      co_await self->serial_wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }
}

asio::awaitable<void> op_connection::execute(std::shared_ptr<op_connection> self, req::call c,
                                             std::shared_ptr<call_state> st) {
  op_connection* conn = self.get();
  const std::string id = c.request_id;
  const std::string tool = normalize_tool_name(c.name);
  const auto traits = conn->host_.traits(tool);
  tool_context ctx;
  if (conn->settings_.call_timeout.count() > 0) {
    // A tool with its own budget (a model tool streaming for minutes) is never cut shorter.
    const auto own = traits.call_timeout.value_or(std::chrono::milliseconds(0));
    ctx.deadline = clock_type::now() + std::max(conn->settings_.call_timeout, own);
  }
  if (conn->session_.granted().progress) {
    // Section 4: numeric progress, forwarded while the call is live.
    ctx.progress = [conn, st, id](const codecs::progress_update& u) {
      if (st->cancelled_by_client || st->done) return;
      conn->push(op::encode(op::to_progress(u, id)));
    };
  } else {
    // Reference behaviour: a streaming tool's text goes out as stream_chunk messages (chat with
    // "stream": true), and a text-only progress message every interval while the call runs.
    ctx.progress = [conn, st, id](const codecs::progress_update& u) {
      if (st->cancelled_by_client || st->done || u.chunk.empty()) return;
      conn->push(op::encode(op::stream_chunk{id, u.chunk}));
    };
    if (conn->settings_.progress_interval.count() > 0) {
      st->heartbeat = std::make_shared<heartbeat_state>(conn->ex_);
      asio::co_spawn(conn->ex_, heartbeat(self, st->heartbeat, id), asio::detached);
    }
  }

  metrics().inflight.add(1);
  const auto started = clock_type::now();
  codecs::result<codecs::tool_result> r = codecs::error(errc::internal, "no result");
  bool in_cpu_gate = false;  // holds one of the connection's CPU-bound slots
  if (traits.cpu_bound) {
    auto gate = co_await conn->async_enter_cpu_gate(ctx.deadline);
    if (gate)
      in_cpu_gate = true;
    else
      r = gate.error();
  }
  if (!traits.cpu_bound || in_cpu_gate) {
    try {
      r = co_await conn->host_.async_call(std::move(c.name), std::move(c.arguments), std::move(ctx));
    } catch (const std::exception& e) {
      r = codecs::error(errc::internal, std::string("internal error: ") + e.what());
    }
  }
  metrics().inflight.add(-1);
  const bool known_tool = r || r.error().code != errc::tool_not_found;
  const std::string_view tool_label = known_tool ? std::string_view(tool) : std::string_view();
  metrics().requests("call_tool", tool_label, outcome_of(r)).inc();
  metrics().duration(tool_label).observe(std::chrono::duration<double>(clock_type::now() - started).count());
  if (!r && r.error().code == errc::timeout) metrics().timeouts.inc();

  // The result's frames, encoded before the call counts as done (a serial connection sends the
  // next reply only after this one). A large result is encoded on the host's CPU workers; a
  // cancel meanwhile (client, transport loss, shutdown) abandons it like a running call.
  std::vector<std::string> frames;
  if (r && !st->cancelled_by_client && !conn->finished_) {
    const auto payload = payload_bytes(*r);
    const bool compat = conn->settings_.session.compat_reference;
    if (payload < offload_bytes) {
      frames = result_frames(std::move(*r), id, compat, payload);
    } else {
      auto job = std::make_shared<encode_job>();
      job->result = std::move(*r);
      job->request_id = id;
      job->compat_reference = compat;
      job->payload = payload;
      bool encoded = false;
      // In its own statement: g++ 12 mishandles such a temporary inside a co_await expression.
      std::function<void()> encode = [job] {
        job->frames =
            result_frames(std::move(job->result), job->request_id, job->compat_reference, job->payload);
      };
      try {
        encoded = co_await conn->host_.async_offload(std::move(encode));
      } catch (const std::exception& e) {
        r = codecs::error(errc::internal, std::string("internal error: ") + e.what());
      }
      if (encoded)
        frames = std::move(job->frames);
      else if (r)
        r = codecs::error(errc::cancelled, "cancelled");
    }
  }
  st->done = true;
  if (st->heartbeat) {
    st->heartbeat->done = true;
    st->heartbeat->timer.cancel();
  }

  conn->finish_call(id, st, r, std::move(frames));
  if (in_cpu_gate) conn->leave_cpu_gate();
  conn->serial_wake_.cancel();
}

bool op_connection::cpu_gate_open() const {
  return cpu_calls_ < host_.cpu_worker_count() && queued_bytes_ < settings_.max_queued_bytes;
}

asio::awaitable<codecs::result<void>> op_connection::async_enter_cpu_gate(clock_type::time_point deadline) {
  auto cs = co_await asio::this_coro::cancellation_state;
  asio::steady_timer wake(ex_);
  while (!cpu_gate_open()) {
    if (finished_ || closing_ || cs.cancelled() != asio::cancellation_type::none)
      co_return codecs::error(errc::cancelled, "cancelled");
    if (clock_type::now() >= deadline)
      co_return codecs::error(errc::timeout, "the call waited past its deadline for earlier results to be read");
    wake.expires_at(deadline);
    cpu_waiters_.push_back(&wake);
    boost::system::error_code ec;
    co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    std::erase(cpu_waiters_, &wake);
  }
  if (finished_ || closing_ || cs.cancelled() != asio::cancellation_type::none)
    co_return codecs::error(errc::cancelled, "cancelled");
  ++cpu_calls_;
  co_return codecs::result<void>{};
}

void op_connection::leave_cpu_gate() {
  --cpu_calls_;
  wake_cpu_gate();
}

// Every waiter re-checks; they resume in the order they queued, so the first takes the room.
void op_connection::wake_cpu_gate() {
  for (auto* t : cpu_waiters_) t->cancel();
}

void op_connection::finish_call(const std::string& request_id, const std::shared_ptr<call_state>& st,
                                const codecs::result<codecs::tool_result>& r,
                                std::vector<std::string> frames) {
  if (auto it = calls_.find(request_id); it != calls_.end() && it->second == st) {
    calls_.erase(it);
    session_.finished(request_id);
  }
  if (st->cancelled_by_client) return;  // `cancelled` was sent instead (section 4)
  if (!r) {
    const auto code = r.error().code;
    if (code == errc::cancelled) {
      if (st->cancelled_by_shutdown)
        push(call_error(json::value(request_id), errc::shutting_down,
                        "cancelled: the daemon is shutting down"));
      return;  // otherwise the transport is gone: nobody to tell
    }
    push(call_error(json::value(request_id), code, r.error().message));
    return;
  }
  for (auto& f : frames) push_text(std::move(f), request_id);
}

asio::awaitable<void> op_connection::heartbeat(std::shared_ptr<op_connection> self,
                                               std::shared_ptr<heartbeat_state> hb, std::string request_id) {
  while (!hb->done && !self->finished_) {
    hb->timer.expires_after(self->settings_.progress_interval);
    boost::system::error_code ec;
    co_await hb->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (hb->done || self->finished_) break;  // the result (or a cancel) came first
    op::progress p;
    p.request_id = request_id;
    p.message = "Tool execution in progress...";
    self->push(op::encode(p));
  }
}

void op_connection::begin_shutdown() { session_.begin_shutdown(); }

void op_connection::cancel_calls() {
  std::vector<std::shared_ptr<call_state>> running;
  for (auto& [id, st] : calls_) running.push_back(st);
  for (auto& st : running) {
    st->cancelled_by_shutdown = true;
    st->signal.emit(asio::cancellation_type::terminal);
  }
}

void op_connection::close(close_code code, std::string reason) {
  if (closing_ || finished_) return;
  closing_ = true;
  outbox_.push_back(outgoing{{}, code, std::move(reason), {}});
  hello_timer_.cancel();
  serial_wake_.cancel();
  notify_writer();
  // Nothing more can be sent, so whatever still runs is stopped.
  std::vector<std::shared_ptr<call_state>> running;
  for (auto& [id, st] : calls_) running.push_back(st);
  for (auto& st : running) st->signal.emit(asio::cancellation_type::terminal);
}

void op_connection::on_transport_closed() {
  if (finished_) return;
  finished_ = true;
  session_.mark_closed();
  hello_timer_.cancel();
  serial_queue_.clear();
  outbox_.clear();  // unsendable now
  queued_bytes_ = 0;
  std::vector<std::shared_ptr<call_state>> running;
  for (auto& [id, st] : calls_) running.push_back(st);
  for (auto& st : running) st->signal.emit(asio::cancellation_type::terminal);
  notify_writer();
  notify_reader();
  serial_wake_.cancel();
  wake_cpu_gate();
  if (session_counted_) {
    session_counted_ = false;
    host_.session_closed();
    metrics().sessions.add(-1);
  }
}

std::optional<outgoing> op_connection::try_next_outgoing() {
  if (outbox_.empty()) return std::nullopt;
  outgoing item = std::move(outbox_.front());
  outbox_.pop_front();
  queued_bytes_ -= item.text.size();
  on_outbox_shrunk();
  return item;
}

asio::awaitable<std::optional<outgoing>> op_connection::async_next_outgoing() {
  for (;;) {
    if (auto item = try_next_outgoing()) co_return item;
    if (finished_ || closing_) co_return std::nullopt;
    writer_wake_.expires_at(clock_type::time_point::max());
    boost::system::error_code ec;
    co_await writer_wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

void op_connection::push(const json::object& msg) {
  if (closing_ || finished_) return;
  push_text(json::serialize(msg));
}

void op_connection::push_text(std::string text, std::string result_of) {
  if (closing_ || finished_) return;
  queued_bytes_ += text.size();
  outbox_.push_back(outgoing{std::move(text), std::nullopt, {}, std::move(result_of)});
  notify_writer();
}

bool op_connection::drop_queued_result(std::string_view request_id) {
  const auto before = outbox_.size();
  std::erase_if(outbox_, [&](const outgoing& o) {
    if (o.result_of.empty() || o.result_of != request_id) return false;
    queued_bytes_ -= o.text.size();
    return true;
  });
  if (outbox_.size() == before) return false;
  on_outbox_shrunk();
  return true;
}

// Fewer unsent bytes: a paused reader and the calls waiting at the CPU gate may go on.
void op_connection::on_outbox_shrunk() {
  notify_reader();
  if (!cpu_waiters_.empty() && cpu_gate_open()) wake_cpu_gate();
}

void op_connection::notify_writer() { writer_wake_.cancel(); }
void op_connection::notify_reader() { reader_wake_.cancel(); }

}  // namespace exai::daemon
