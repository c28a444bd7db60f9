// One upstream daemon connection (house-style 6): run() owns connect, WebSocket
// handshake, hello, the reader || writer || housekeeper session, failing every sent call at once
// on loss, and backoff + reconnect. The pool's callers never touch the socket.
#include "gateway/pool/pool_impl.hpp"

#include "codecs/parse.hpp"
#include "net/asio_frame_warning.hpp"
#include "net/take_batch.hpp"
#include "net/ws_close_code.hpp"
#include "observability/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <vector>

namespace exai::gateway::pool::detail {

namespace asio = boost::asio;
namespace json = boost::json;
namespace op = codecs::op;
using namespace asio::experimental::awaitable_operators;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

namespace {
bool coroutine_cancelled(const asio::cancellation_state& cs) {
  return cs.cancelled() != asio::cancellation_type::none;
}
}  // namespace

upstream_connection::upstream_connection(pool_impl& pool, std::size_t endpoint_index, std::string name)
    : pool_(pool),
      endpoint_(endpoint_index),
      name_(std::move(name)),
      writer_wake_(pool.executor()),
      timer_(pool.executor()),
      house_timer_(pool.executor()) {}

void upstream_connection::set_state(conn_state s) {
  if (s == state_) return;
  if (state_ == conn_state::ready) pool_.count_mode(mode_.mode, -1);
  if (s == conn_state::ready) pool_.count_mode(mode_.mode, +1);
  pool_.count_state(state_, s);
  state_ = s;
}

asio::awaitable<void> upstream_connection::run() {
  const backoff_policy backoff(pool_.options().backoff_initial, pool_.options().backoff_max);
  unsigned failures = 0;
  bool first = true;
  while (!stopping_ && !retired_) {
    if (!first) pool_.count_reconnect();
    first = false;
    set_state(conn_state::connecting);
    transport_ = pool_.make_transport();
    attempt_end end = attempt_end::failed;
    try {
      end = co_await async_attempt();
    } catch (const std::exception& e) {
      // A bug, not a network condition: log it and treat the attempt as failed.
      EXAI_LOG(error, "pool", "upstream attempt raised", {"conn", name_}, {"what", e.what()});
    }
    transport_->close();
    connected_ = false;
    closing_ = false;
    if (stopping_ || end == attempt_end::stopped) break;
    if (end == attempt_end::refused_limit) {
      const refusal_decision d = pool_.on_refused(*this);
      if (d.retire) retired_ = true;
    }
    if (retired_) break;
    failures = end == attempt_end::session_ended ? 0 : failures + 1;
    const auto delay = backoff.delay(failures == 0 ? 0 : failures - 1, pool_.jitter());
    set_state(conn_state::backoff);
    EXAI_LOG(debug, "pool", "upstream reconnect scheduled", {"conn", name_},
             {"delay_ms", static_cast<std::int64_t>(delay.count())}, {"failures", failures});
    timer_.expires_after(delay);
    co_await timer_.async_wait(use_nothrow);
  }
  set_state(retired_ && !stopping_ ? conn_state::retired : conn_state::stopped);
}

EXAI_ASIO_FRAME_WARNING_OFF  // a GCC false positive at -O2, see net/asio_frame_warning.hpp
asio::awaitable<upstream_connection::attempt_end> upstream_connection::async_attempt() {
  const pool_options& o = pool_.options();
  const endpoint& ep = pool_.endpoint_of(endpoint_);
  ws_connect_params p;
  p.host = ep.host;
  p.port = ep.port;
  p.path = ep.path;
  p.connect_timeout = o.connect_timeout;
  p.idle_timeout = o.idle_timeout;
  p.busy_timeout = o.hang_timeout;
  loss_reason_.clear();
  p.read_limit = o.read_limit;
  if (auto ec = co_await transport_->async_connect(std::move(p))) {
    if (stopping_) co_return attempt_end::stopped;
    EXAI_LOG(debug, "pool", "upstream connect failed", {"conn", name_}, {"endpoint", ep.to_string()},
             {"error", ec.message()});
    co_return attempt_end::failed;
  }

  connected_ = true;

  // Hello (section 2): a unique session_id per connection and the section 4 capabilities.
  session_id_ = pool_.ids().session_id();
  op::hello h;
  h.token = o.token;
  h.session_id = session_id_;
  h.caps = op::capabilities{true, true, true, std::nullopt, std::nullopt};
  std::string hello_frame = json::serialize(op::encode(h));
  if (auto ec = co_await transport_->async_write(hello_frame)) {
    if (stopping_) co_return attempt_end::stopped;
    co_return attempt_end::failed;
  }

  // The ack, within hello_timeout. Racing this one read with a timer is fine: on timeout the
  // attempt is abandoned and the stream with it (toolchain-and-peers.md
  // coroutine item 5 is about the long-lived read loop).
  std::string_view text;
  timer_.expires_after(o.hello_timeout);
  auto raced = co_await (transport_->async_read(text) || timer_.async_wait(use_nothrow));
  if (stopping_) co_return attempt_end::stopped;
  if (raced.index() == 1) {
    EXAI_LOG(warn, "pool", "no hello_ack in time", {"conn", name_}, {"endpoint", ep.to_string()},
             {"timeout_ms", static_cast<std::int64_t>(o.hello_timeout.count())});
    co_return attempt_end::failed;
  }
  if (auto ec = std::get<0>(raced)) {
    const auto code = transport_->close_code();
    if (code && *code == static_cast<std::uint16_t>(net::ws_close_code::policy_violation)) {
      EXAI_LOG(warn, "pool", "daemon refused the connection (1008: too many connections)",
               {"conn", name_}, {"endpoint", ep.to_string()});
      co_return attempt_end::refused_limit;
    }
    EXAI_LOG(warn, "pool", "daemon closed before hello_ack", {"conn", name_},
             {"endpoint", ep.to_string()}, {"close_code", code ? static_cast<int>(*code) : -1},
             {"error", ec.message()});
    co_return attempt_end::failed;
  }
  codecs::parse_limits limits;
  limits.max_bytes = o.read_limit;
  auto parsed = codecs::parse_json(text, limits);
  auto decoded = parsed ? op::decode_server(*parsed) : codecs::result<op::server_message>(parsed.error());
  const op::hello_ack* ack = decoded ? std::get_if<op::hello_ack>(&*decoded) : nullptr;
  if (!ack) {
    EXAI_LOG(warn, "pool", "first daemon message is not a hello_ack", {"conn", name_},
             {"endpoint", ep.to_string()});
    co_return attempt_end::failed;
  }
  if (!ack->ok) {
    // The token is never logged; the daemon's reason is ("unauthorized", "missing_hello", ...).
    EXAI_LOG(error, "pool", "daemon rejected the hello", {"conn", name_}, {"endpoint", ep.to_string()},
             {"reason", ack->error.value_or("")});
    co_return attempt_end::failed;
  }
  mode_ = decide_mode(*ack, o.max_inflight_default);
  if (ack->caps && ack->caps->max_message_bytes) pool_.note_upstream_limit(*ack->caps->max_message_bytes);
  table_.set_serial(mode_.mode == conn_mode::serial);
  EXAI_LOG(info, "pool", "upstream connection ready", {"conn", name_}, {"endpoint", ep.to_string()},
           {"mode", mode_.mode == conn_mode::serial ? "serial" : "multiplexed"},
           {"max_inflight", mode_.max_inflight}, {"cancel", mode_.cancel});

  set_state(conn_state::ready);
  pool_.on_ready(*this);
  if (retired_ || stopping_) {
    // on_ready may retire a connection beyond a serial address's cap.
    fail_all(stopping_ ? codecs::errc::shutting_down : codecs::errc::upstream_lost,
             "daemon connection lost");
    pool_.on_down(*this, false);  // it never served: the tool list is not stale because of it
    co_return stopping_ ? attempt_end::stopped : attempt_end::session_ended;
  }

  try {
    co_await async_session();
  } catch (const std::exception&) {
    // operator|| may rethrow a branch's abort (toolchain-and-peers.md,
    // coroutine item 3); the session is over either way.
  }
  closing_ = true;
  const bool hung = transport_->timed_out();
  transport_->close();
  const auto code = transport_->close_code();
  if (hung && !stopping_) {
    loss_reason_ = "the daemon did not answer within " + std::to_string(o.hang_timeout.count()) +
                   " ms (hung?); the call was sent and may have run";
    EXAI_LOG(error, "pool", "daemon stopped answering; dropping its connections", {"conn", name_},
             {"endpoint", ep.to_string()}, {"hang_timeout_ms", static_cast<std::int64_t>(o.hang_timeout.count())},
             {"in_flight", table_.live()});
    pool_.on_hung(*this);
  }
  if (stopping_) {
    EXAI_LOG(debug, "pool", "upstream connection closed (pool stopping)", {"conn", name_},
             {"in_flight", table_.live()});
  } else {
    EXAI_LOG(warn, "pool", "upstream connection lost", {"conn", name_}, {"endpoint", ep.to_string()},
             {"close_code", code ? static_cast<int>(*code) : -1}, {"in_flight", table_.live()});
  }
  // Every call sent on this connection fails now, not at its deadline.
  fail_all(stopping_ ? codecs::errc::shutting_down : codecs::errc::upstream_lost,
           stopping_                ? "the gateway is shutting down"
           : loss_reason_.empty()   ? "daemon connection lost"
                                    : loss_reason_.c_str());
  set_state(conn_state::backoff);
  pool_.on_down(*this, true);
  co_return stopping_ ? attempt_end::stopped : attempt_end::session_ended;
}
EXAI_ASIO_FRAME_WARNING_ON

asio::awaitable<void> upstream_connection::async_session() {
  co_await (async_reader() || async_writer() || async_housekeeper());
}

asio::awaitable<void> upstream_connection::async_reader() {
  std::string_view text;
  for (;;) {
    // Always pending while the session lives, so pings are answered and pongs processed.
    if (auto ec = co_await transport_->async_read(text)) co_return;
    on_message(text);
    if (closing_) co_return;
  }
}

asio::awaitable<void> upstream_connection::async_writer() {
  // Every session's calls share this connection: whatever queued up while the last write was
  // out goes in the next one, as a single send (net::take_batch).
  std::vector<std::string> batch;
  for (;;) {
    while (outq_.empty()) {
      if (closing_) co_return;
      writer_wake_.expires_at(clock::time_point::max());
      co_await writer_wake_.async_wait(use_nothrow);
      if (coroutine_cancelled(co_await asio::this_coro::cancellation_state)) co_return;
    }
    if (closing_) co_return;
    batch.clear();
    net::take_batch(outq_, batch, net::batch_limits{});
    boost::system::error_code ec;
    if (batch.size() == 1) {
      ec = co_await transport_->async_write(batch.front());
    } else {
      ec = co_await transport_->async_write_batch(batch);
    }
    if (ec) co_return;
  }
}

asio::awaitable<void> upstream_connection::async_housekeeper() {
  const auto abandon_timeout = pool_.options().abandon_timeout;
  const auto tick = std::clamp<clock::duration>(abandon_timeout / 4, std::chrono::milliseconds(10),
                                                std::chrono::milliseconds(500));
  for (;;) {
    house_timer_.expires_after(tick);
    co_await house_timer_.async_wait(use_nothrow);
    if (coroutine_cancelled(co_await asio::this_coro::cancellation_state) || closing_) co_return;
    const auto now = clock::now();

    // A tool-list fetch that got no answer by its deadline is abandoned like a call.
    if (list_request_ && list_request_->phase == call_phase::sent && now >= list_request_->deadline) {
      EXAI_LOG(warn, "pool", "tool list request timed out", {"conn", name_});
      call_ptr l = std::move(list_request_);
      l->phase = call_phase::abandoned;
      if (table_.abandon(l->id, now)) pool_.count_abandoned(+1);
      pool_.on_tool_list(*this, nullptr);
    }

    const auto expired = table_.expired(now, abandon_timeout);
    switch (housekeeping_action(mode_.mode, expired.size())) {
      case housekeeping::nothing:
        break;
      case housekeeping::drop_expired:
        for (const auto& id : expired) table_.erase(id);
        pool_.count_abandoned(-static_cast<std::int64_t>(expired.size()));
        EXAI_LOG(warn, "pool", "daemon never confirmed cancelled calls; slots freed", {"conn", name_},
                 {"count", expired.size()});
        pool_.on_capacity();
        break;
      case housekeeping::close_connection:
        // Serial: the connection is stuck behind a call nobody waits for (bounded by
        // abandon_timeout): close it; run() replaces it.
        EXAI_LOG(warn, "pool", "abandoned call held a serial connection too long; replacing it",
                 {"conn", name_},
                 {"abandon_timeout_ms", static_cast<std::int64_t>(
                                            std::chrono::duration_cast<std::chrono::milliseconds>(
                                                abandon_timeout).count())});
        closing_ = true;
        co_return;
    }
    pool_.maybe_fetch_tools(*this);
  }
}

void upstream_connection::push_frame(std::string frame) {
  outq_.push_back(std::move(frame));
  writer_wake_.cancel();
}

void upstream_connection::send(const call_ptr& c) {
  c->phase = call_phase::sent;
  c->conn = this;
  table_.add(c->id, c);
  if (c->kind == request_kind::list_tools) list_request_ = c;
  else pool_.count_in_flight(+1);
  push_frame(std::move(c->frame));
  update_busy();
}

void upstream_connection::abandon(const call_ptr& c) {
  if (!table_.abandon(c->id, clock::now())) return;
  pool_.count_abandoned(+1);
  // Section 4: with cancel granted the daemon stops the tool and answers `cancelled` (no
  // result). Serial connections cannot cancel: the entry keeps the connection busy until the
  // late reply arrives or abandon_timeout closes it.
  if (mode_.mode == conn_mode::multiplexed && mode_.cancel && ready()) {
    op::cancel m;
    m.request_id = c->id;
    push_frame(json::serialize(op::encode(m)));
  }
}

void upstream_connection::stop() {
  stopping_ = true;
  closing_ = true;
  if (transport_) transport_->close();
  timer_.cancel();
  writer_wake_.cancel();
  house_timer_.cancel();
}

void upstream_connection::retire() {
  retired_ = true;
}

void upstream_connection::drop() {
  if (closing_ || state_ != conn_state::ready) return;
  loss_reason_ = "another connection to this daemon found it hung; the call may have run";
  closing_ = true;
  if (transport_) transport_->close();
  writer_wake_.cancel();
  house_timer_.cancel();
}

void upstream_connection::fail_all(codecs::errc code, const char* message) {
  outq_.clear();
  pool_.count_abandoned(-static_cast<std::int64_t>(table_.abandoned()));
  auto waiters = table_.take_all_live();
  for (auto& c : waiters) {
    if (c->kind == request_kind::list_tools) {
      list_request_.reset();
      pool_.on_tool_list(*this, nullptr);
      continue;
    }
    pool_.complete(c, codecs::error(code, message));
  }
  list_request_.reset();
}

void upstream_connection::on_message(std::string_view text) {
  codecs::parse_limits limits;
  limits.max_bytes = pool_.options().read_limit;
  auto parsed = codecs::parse_json(text, limits);
  if (!parsed) {
    EXAI_LOG(warn, "pool", "unparseable message from the daemon", {"conn", name_},
             {"bytes", text.size()});
    return;
  }
  auto decoded = op::decode_server(std::move(*parsed));  // a call's outputs move on to its caller
  if (!decoded) {
    EXAI_LOG(warn, "pool", "unexpected message from the daemon", {"conn", name_},
             {"error", decoded.error().message});
    return;
  }
  auto r = table_.route(*decoded);
  switch (r.what) {
    case verdict::result:
      deliver_final(*r.waiter, *decoded);
      pool_.on_capacity();
      break;
    case verdict::progress: {
      const call_ptr& c = *r.waiter;
      if (c->kind == request_kind::call && c->progress) {
        try {
          c->progress(op::to_progress_update(std::get<op::progress>(*decoded)));
        } catch (const std::exception& e) {
          EXAI_LOG(warn, "pool", "progress sink raised", {"conn", name_}, {"what", e.what()});
        }
      }
      break;
    }
    case verdict::cancelled: {
      const call_ptr& c = *r.waiter;
      if (c->kind == request_kind::list_tools) {
        list_request_.reset();
        pool_.on_tool_list(*this, nullptr);
      } else {
        pool_.complete(c, codecs::error(codecs::errc::cancelled, "the daemon cancelled the call"));
      }
      pool_.on_capacity();
      break;
    }
    case verdict::cancel_ack:
      pool_.count_abandoned(-1);
      pool_.on_capacity();
      break;
    case verdict::late:
      // The caller left (cancel or deadline) and the daemon answered anyway: dropped, counted.
      pool_.count_abandoned(-1);
      pool_.count_late();
      EXAI_LOG(debug, "pool", "late reply dropped", {"conn", name_}, {"request_id", r.id});
      pool_.on_capacity();
      break;
    case verdict::unknown:
      pool_.count_late();
      EXAI_LOG(debug, "pool", "reply for an unknown request dropped", {"conn", name_},
               {"request_id", r.id});
      break;
    case verdict::ignored:
      break;
  }
  update_busy();
}

void upstream_connection::deliver_final(const call_ptr& c, op::server_message& m) {
  if (c->kind == request_kind::list_tools) {
    list_request_.reset();
    pool_.on_tool_list(*this, &m);
    return;
  }
  codecs::result<codecs::tool_result> out = codecs::error(codecs::errc::internal, "");
  if (auto* res = std::get_if<op::call_tool_res>(&m)) {
    out = call_outcome(std::move(*res));
    if (out && !out->is_error && mode_.mode == conn_mode::serial && is_reference_failure_document(*out))
      out->is_error = true;
  } else if (const auto* err = std::get_if<op::error_msg>(&m)) {
    out = call_outcome(err->error);
  } else {
    out = codecs::error(codecs::errc::upstream_error, "the daemon answered a call with a tool list");
  }
  pool_.complete(c, std::move(out));
}

}  // namespace exai::gateway::pool::detail
