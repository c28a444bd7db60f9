// Keep-alive pings and the idle timeout for a websocket::stream, in place of Beast's
// stream_base::timeout::idle_timeout. Beast re-arms a timer at the start of every read: a cancel, a
// cancelled-wait completion and a new wait per message, about 5 % of the gateway's instructions
// per call . Here one coarse timer per connection ticks every idle/4 and asks
// whether anything arrived since the last tick:
// - after 2 silent ticks (idle/2 .. 3/4 idle of silence) it sends one ping;
// - after 4 silent ticks (idle .. 5/4 idle of silence) it closes the socket, as Beast's own idle
//   timeout does (pending operations then fail and the owner's loops end).
// A second, shorter timeout applies while the owner says it is busy (set_busy: it waits for
// answers, e.g. a daemon connection with calls outstanding): a ping after half of it silent, the
// close after all of it, so a hung (stopped, not dead) peer is found in seconds. The
// ticks are then a quarter of the shorter timeout.
// Arrivals are counted by the owner (note_activity() after each message it reads) and by the
// control callback installed here (pings, pongs and close frames, which Beast consumes inside a
// read). Like Beast's timer, silence is measured only from what is read: a connection whose owner
// stops reading for longer than the idle timeout is closed.
// Threading: the owner, the stream and the timer share one executor (one thread). Call stop()
// (or destroy this object) before the stream goes away; the timer's handler then does nothing.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/system/error_code.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>

namespace exai::net {

template <class WsStream>
class ws_keepalive {
 public:
  // Silent ticks before the ping and before the close (ticks are idle/4 apart).
  static constexpr int ping_after_ticks = 2;
  static constexpr int close_after_ticks = 4;

  ws_keepalive() = default;
  ws_keepalive(const ws_keepalive&) = delete;
  ws_keepalive& operator=(const ws_keepalive&) = delete;
  ~ws_keepalive() { stop(); }

  // Starts watching `ws` (open, handshake done). idle <= 0 turns the watch off. Replaces the
  // stream's control callback. Calling start again restarts the watch on the new stream.
  // busy > 0: the timeout while set_busy(true).
  void start(WsStream& ws, std::chrono::milliseconds idle,
             std::chrono::milliseconds busy = std::chrono::milliseconds(0)) {
    stop();
    if (idle.count() <= 0) return;
    const auto shortest = busy.count() > 0 ? std::min(idle, busy) : idle;
    st_ = std::make_shared<state>(ws, std::max(shortest / 4, std::chrono::milliseconds(1)));
    st_->idle = idle;
    st_->busy_limit = busy;
    timed_out_ = std::make_shared<bool>(false);
    st_->timed_out = timed_out_;
    ws.control_callback(
        [st = st_](boost::beast::websocket::frame_type, std::string_view) { ++st->arrivals; });
    arm(st_);
  }

  // One message read: the peer is alive.
  void note_activity() noexcept {
    if (st_) ++st_->arrivals;
  }

  // Whether the owner waits for answers: the busy timeout applies, counted from now.
  void set_busy(bool busy) noexcept {
    if (!st_ || st_->busy == busy) return;
    st_->busy = busy;
    if (busy) st_->quiet_since = std::chrono::steady_clock::now();
  }

  // Closed because the peer stayed silent too long (idle or busy timeout).
  bool timed_out() const noexcept { return timed_out_ && *timed_out_; }

  void stop() noexcept {
    if (!st_) return;
    st_->ws = nullptr;
    st_->timer.cancel();
    st_.reset();
  }

  // Pings sent and connections closed for silence, for tests and logs.
  std::uint64_t pings_sent() const noexcept { return st_ ? st_->pings : 0; }

 private:
  struct state : std::enable_shared_from_this<state> {
    state(WsStream& s, std::chrono::steady_clock::duration t)
        : timer(s.get_executor()), ws(&s), tick(t) {}
    boost::asio::steady_timer timer;
    WsStream* ws;  // null once stopped
    std::chrono::steady_clock::duration tick;
    std::uint64_t arrivals = 0;
    std::uint64_t seen = 0;
    std::uint64_t pings = 0;
    std::chrono::milliseconds idle{0}, busy_limit{0};
    bool busy = false;
    std::chrono::steady_clock::time_point quiet_since = std::chrono::steady_clock::now();
    bool pinged = false;  // this silence already got its ping
    bool ping_pending = false;
    std::shared_ptr<bool> timed_out;
  };

  static void arm(const std::shared_ptr<state>& st) {
    st->timer.expires_after(st->tick);
    st->timer.async_wait([st](boost::system::error_code ec) {
      if (ec || !st->ws) return;  // stopped
      on_tick(*st);
      if (st->ws) arm(st);
    });
  }

  // Silence is counted from the tick that last saw an arrival (or from set_busy(true)): with
  // ticks a quarter of the timeout apart, the ping goes after 2 silent ticks, the close after 4.
  static void on_tick(state& st) {
    const auto now = std::chrono::steady_clock::now();
    if (st.arrivals != st.seen) {
      st.seen = st.arrivals;
      st.quiet_since = now;
      st.pinged = false;
      return;
    }
    const auto limit = st.busy && st.busy_limit.count() > 0 ? st.busy_limit : st.idle;
    const auto silent = now - st.quiet_since;
    // Tick timers fire a little late, never early: compare with a tenth of a tick of slack.
    const auto slack = st.tick / 10;
    if (silent + slack >= limit) {
      if (st.timed_out) *st.timed_out = true;
      boost::beast::close_socket(boost::beast::get_lowest_layer(*st.ws));
      st.ws = nullptr;  // closed: nothing more to watch
    } else if (silent + slack >= limit / 2 && !st.pinged) {
      // One ping per silence, and never a second while one waits behind a stalled write (Beast
      // keeps one suspended ping at a time).
      if (st.ping_pending) return;
      st.pinged = true;
      st.ping_pending = true;
      ++st.pings;
      st.ws->async_ping({}, [st = st.shared_from_this()](boost::system::error_code) {
        st->ping_pending = false;
      });
    }
  }

  std::shared_ptr<state> st_;
  std::shared_ptr<bool> timed_out_;
};

}  // namespace exai::net
