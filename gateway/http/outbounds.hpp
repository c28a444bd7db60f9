// The HTTP exchanges as outbounds (gateway/outbound.hpp), so a session sends to them as to a
// WebSocket: one POST's reply (JSON or SSE), and a session's server-to-client stream (GET /mcp,
// or the 2024-11-05 /sse stream). The exchange coroutine that owns the HTTP response is the
// writer: it takes what was pushed and reports it to the session (on_taken / on_written /
// on_ended), never from inside push() or close(). Single-threaded: the session's executor.
#pragma once

#include "gateway/http/event_log.hpp"
#include "gateway/outbound.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace exai::gateway::http {

// Wakes one waiting coroutine (a timer that never expires by itself). A notify() with nobody
// waiting is lost: waiters check their condition first, with no suspension in between.
struct wakeup {
  explicit wakeup(boost::asio::any_io_executor ex)
      : timer(ex, std::chrono::steady_clock::time_point::max()) {}
  void notify() { timer.cancel(); }
  // Waits until notify() or `until`; true when notified.
  boost::asio::awaitable<bool> wait(std::chrono::steady_clock::time_point until) {
    timer.expires_at(until);
    auto [ec] = co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    co_return ec == boost::asio::error::operation_aborted;
  }
  boost::asio::steady_timer timer;
};

// Whether a message a session sends is a response (or a batch of them) rather than a
// notification: the session encodes notifications as {"jsonrpc":"2.0","method":...}.
inline bool is_response(std::string_view message) noexcept {
  return !message.starts_with(R"({"jsonrpc":"2.0","method":)");
}

// One POST's reply: the requests it carried are answered here, with their progress first.
class post_outbound final : public outbound {
 public:
  post_outbound(boost::asio::any_io_executor ex, std::string_view kind) : wake(ex), kind_(kind) {}

  push_result push(std::string message) override {
    if (closing_ || ended_) return push_result::closed;
    queue_.push_back(std::move(message));
    wake.notify();
    return push_result::queued;
  }
  void close(close_code) override {
    closing_ = true;
    wake.notify();
  }
  void abort() noexcept override {
    closing_ = true;
    try {
      wake.notify();
    } catch (...) {
    }
  }
  bool ended() const noexcept override { return ended_; }
  void watch(std::weak_ptr<outbound_watcher> w) override { watcher_ = std::move(w); }
  std::string_view kind() const noexcept override { return kind_; }

  // The writer's side.
  bool empty() const noexcept { return queue_.empty(); }
  bool closing() const noexcept { return closing_; }
  bool front_is_response() const noexcept { return is_response(queue_.front()); }
  // The oldest message, reported taken.
  std::string take() {
    std::string m = std::move(queue_.front());
    queue_.pop_front();
    if (auto w = watcher_.lock()) w->on_taken(*this, 1);
    return m;
  }
  void written(std::size_t bytes, bool ok) {
    if (auto w = watcher_.lock()) w->on_written(*this, 1, bytes, ok);
  }
  // The exchange is over: whatever is still queued is dropped. The last report.
  void finish() {
    if (ended_) return;
    ended_ = true;
    closing_ = true;
    std::size_t bytes = 0;
    for (const auto& m : queue_) bytes += m.size();
    const std::size_t n = queue_.size();
    queue_.clear();
    if (auto w = watcher_.lock()) w->on_ended(*this, n, bytes);
  }

  wakeup wake;

 private:
  std::string kind_;
  std::deque<std::string> queue_;
  bool closing_ = false;
  bool ended_ = false;
  std::weak_ptr<outbound_watcher> watcher_;
};

// A session's notification stream: lives as long as the session. What is pushed is framed as SSE
// (numbered and kept for Last-Event-ID on /mcp; plain on the legacy /sse stream) and handed to the
// GET exchange that holds the stream now, if any; a message pushed while none does is only kept.
// Reported written at once: the bound is the replay record's, not the session's reply bytes.
class stream_outbound final : public outbound,
                              public std::enable_shared_from_this<stream_outbound> {
 public:
  stream_outbound(boost::asio::any_io_executor ex, bool legacy, std::size_t replay_events,
                  std::size_t replay_bytes)
      : ex_(ex), legacy_(legacy), log_(replay_events, replay_bytes) {}

  push_result push(std::string message) override {
    if (closing_ || ended_) return push_result::closed;
    std::string wire = legacy_ ? sse_message(message) : log_.append(message);
    if (auto w = writer_.lock()) {
      w->frames.push_back(std::move(wire));
      w->wake.notify();
    }
    ++unreported_;
    unreported_bytes_ += message.size();
    schedule();
    return push_result::queued;
  }
  void close(close_code) override {
    closing_ = true;
    schedule();
  }
  void abort() noexcept override {
    closing_ = true;
    try {
      schedule();
    } catch (...) {
    }
  }
  bool ended() const noexcept override { return ended_; }
  void watch(std::weak_ptr<outbound_watcher> w) override { watcher_ = std::move(w); }
  std::string_view kind() const noexcept override { return legacy_ ? "sse" : "http"; }

  // The GET exchange holding the stream: SSE frames to write, and its wakeup.
  struct writer {
    explicit writer(boost::asio::any_io_executor ex) : wake(ex) {}
    std::deque<std::string> frames;
    bool replaced = false;  // another GET took the stream over
    wakeup wake;
  };
  // Makes `w` the stream's writer; an earlier one is told it was replaced.
  void attach(const std::shared_ptr<writer>& w) {
    if (auto old = writer_.lock(); old && old != w) {
      old->replaced = true;
      old->wake.notify();
    }
    writer_ = w;
  }
  void detach(const writer* w) {
    if (writer_.lock().get() == w) writer_.reset();
  }
  bool has_writer() const noexcept { return !writer_.expired(); }
  bool closing() const noexcept { return closing_; }
  std::optional<std::vector<std::string>> replay_after(std::string_view id) const {
    return log_.replay_after(id);
  }

 private:
  // Reports (and, when closing, ends) on a later turn, never from inside push() or close().
  void schedule() {
    if (scheduled_ || ended_) return;
    scheduled_ = true;
    boost::asio::post(ex_, [self = shared_from_this()] {
      self->scheduled_ = false;
      auto w = self->watcher_.lock();
      if (self->unreported_ > 0 && w) {
        w->on_taken(*self, self->unreported_);
        w->on_written(*self, self->unreported_, self->unreported_bytes_, true);
      }
      self->unreported_ = 0;
      self->unreported_bytes_ = 0;
      if (self->closing_ && !self->ended_) {
        self->ended_ = true;
        if (auto wr = self->writer_.lock()) wr->wake.notify();
        if (w) w->on_ended(*self, 0, 0);
      }
    });
  }

  boost::asio::any_io_executor ex_;
  bool legacy_;
  event_log log_;
  std::weak_ptr<writer> writer_;
  std::weak_ptr<outbound_watcher> watcher_;
  std::size_t unreported_ = 0;
  std::size_t unreported_bytes_ = 0;
  bool scheduled_ = false;
  bool closing_ = false;
  bool ended_ = false;
};

}  // namespace exai::gateway::http
