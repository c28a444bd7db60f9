// A session served over one message transport (gateway/stream_pump.hpp): the transport's outbound
// with its writer, and the read loop.
#include "gateway/stream_pump.hpp"

#include "codecs/error.hpp"
#include "observability/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <deque>
#include <vector>

namespace exai::gateway {
namespace {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

// One write takes at most this much of the queue.
constexpr std::size_t max_batch_messages = 64;
constexpr std::size_t max_batch_bytes = 256 * 1024;

class transport_outbound final : public outbound,
                                 public std::enable_shared_from_this<transport_outbound> {
 public:
  explicit transport_outbound(std::shared_ptr<message_transport> t)
      : transport_(std::move(t)), wake_(transport_->get_executor(), clock::time_point::max()) {}

  void start() {
    asio::co_spawn(transport_->get_executor(), run(shared_from_this()), asio::detached);
  }

  push_result push(std::string message) override {
    if (closing_ || ended_) return push_result::closed;
    queue_.push_back(std::move(message));
    if (waiting_) wake_.cancel();
    return push_result::queued;
  }

  void close(close_code code) override {
    if (closing_) return;
    closing_ = true;
    code_ = code;
    if (waiting_) wake_.cancel();
  }

  void abort() noexcept override {
    closing_ = true;
    transport_->abort_writes();
  }

  bool ended() const noexcept override { return ended_; }

  void watch(std::weak_ptr<outbound_watcher> w) override { watcher_ = std::move(w); }

  std::string_view kind() const noexcept override { return transport_->kind(); }

 private:
  using clock = asio::steady_timer::clock_type;

  static asio::awaitable<void> run(std::shared_ptr<transport_outbound> self) {
    auto& s = *self;
    std::vector<std::string> batch;
    try {
      for (;;) {
        while (s.queue_.empty() && !s.closing_) {
          s.waiting_ = true;
          error_code ec;
          co_await s.wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
          s.waiting_ = false;
        }
        if (s.queue_.empty()) break;  // closing and everything written
        batch.clear();
        std::size_t batch_bytes = 0;
        while (!s.queue_.empty() && batch.size() < max_batch_messages &&
               (batch.empty() || batch_bytes + s.queue_.front().size() <= max_batch_bytes)) {
          batch_bytes += s.queue_.front().size();
          batch.push_back(std::move(s.queue_.front()));
          s.queue_.pop_front();
        }
        if (auto w = s.watcher_.lock()) w->on_taken(s, batch.size());
        error_code ec;
        if (batch.size() == 1) {
          ec = co_await s.transport_->async_write_message(batch.front());
        } else {
          ec = co_await s.transport_->async_write_messages(batch);
        }
        if (auto w = s.watcher_.lock()) w->on_written(s, batch.size(), batch_bytes, !ec);
        if (ec) break;
      }
    } catch (const std::exception& ex) {
      EXAI_LOG(warn, "session", "writer stopped", {"error", ex.what()});
    }
    s.ended_ = true;
    s.closing_ = true;
    std::size_t dropped_bytes = 0;
    for (const auto& m : s.queue_) dropped_bytes += m.size();
    const std::size_t dropped = s.queue_.size();
    s.queue_.clear();
    // Replies are out before the close handshake: the session need not wait for the peer.
    if (auto w = s.watcher_.lock()) w->on_ended(s, dropped, dropped_bytes);
    try {
      co_await s.transport_->async_close(s.code_);
    } catch (const std::exception&) {
    }
  }

  std::shared_ptr<message_transport> transport_;
  std::deque<std::string> queue_;
  asio::steady_timer wake_;  // never expires: cancel() wakes the writer
  bool waiting_ = false;
  bool closing_ = false;
  bool ended_ = false;
  close_code code_ = close_code::normal;
  std::weak_ptr<outbound_watcher> watcher_;
};

}  // namespace

std::shared_ptr<outbound> make_transport_outbound(std::shared_ptr<message_transport> transport) {
  auto o = std::make_shared<transport_outbound>(std::move(transport));
  o->start();
  return o;
}

pump_policy pump_policy_for(const message_transport& transport) noexcept {
  pump_policy p;
  if (transport.replies_after_eof()) p.on_eof = loss_policy::grace;
  return p;
}

asio::awaitable<void> async_pump(std::shared_ptr<message_transport> transport,
                                 std::shared_ptr<session> s, std::shared_ptr<outbound> replies,
                                 pump_policy policy) {
  s->set_notifications(replies);
  loss_policy how = policy.on_error;
  try {
    for (;;) {
      if (!s->accepting(*replies)) break;
      std::string_view text;
      auto ec = co_await transport->async_read_message(text);
      if (ec == codecs::errc::message_too_large) {
        s->deliver_oversize(replies);
        continue;
      }
      if (ec) {
        if (ec == asio::error::eof) how = policy.on_eof;
        break;
      }
      if (!co_await s->async_wait_room(*replies)) break;
      // `text` lives until the next read; only inline methods and batches suspend here.
      if (auto rest = s->deliver(text, replies)) co_await s->async_finish(std::move(*rest));
    }
  } catch (const std::exception& ex) {
    EXAI_LOG(warn, "session", "reader stopped", {"session", s->id()}, {"error", ex.what()});
  }
  co_await s->async_end(how);
}

asio::awaitable<void> async_pump(std::shared_ptr<message_transport> transport,
                                 std::shared_ptr<session> s) {
  auto replies = make_transport_outbound(transport);
  const auto policy = pump_policy_for(*transport);
  co_await async_pump(std::move(transport), std::move(s), std::move(replies), policy);
}

}  // namespace exai::gateway
