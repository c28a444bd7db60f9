// The in-memory outbound for component tests (gateway/memory_outbound.hpp).
#include "gateway/memory_outbound.hpp"

#include <boost/asio/post.hpp>

namespace exai::gateway {

std::shared_ptr<memory_outbound> memory_outbound::create(boost::asio::any_io_executor ex,
                                                         std::string kind, std::size_t capacity) {
  return std::make_shared<memory_outbound>(std::move(ex), std::move(kind), capacity);
}

memory_outbound::memory_outbound(boost::asio::any_io_executor ex, std::string kind,
                                 std::size_t capacity)
    : ex_(std::move(ex)), kind_(std::move(kind)), capacity_(capacity) {}

push_result memory_outbound::push(std::string message) {
  if (closing_ || ended_) return push_result::closed;
  if (capacity_ != 0 && queue_.size() >= capacity_) return push_result::full;
  queue_.push_back(std::move(message));
  schedule();
  return push_result::queued;
}

void memory_outbound::close(close_code code) {
  if (closing_) return;
  closing_ = true;
  code_ = code;
  schedule();
}

void memory_outbound::abort() noexcept {
  closing_ = true;
  aborted_ = true;
  try {
    schedule();
  } catch (...) {
  }
}

void memory_outbound::hold(bool held) {
  held_ = held;
  if (!held) schedule();
}

std::optional<std::string> memory_outbound::take() {
  if (written_.empty()) return std::nullopt;
  std::string m = std::move(written_.front());
  written_.pop_front();
  return m;
}

// Callbacks to the watcher always come from a posted turn, never from inside push() or close().
void memory_outbound::schedule() {
  if (scheduled_ || ended_) return;
  scheduled_ = true;
  boost::asio::post(ex_, [self = shared_from_this()] {
    self->scheduled_ = false;
    self->flush();
  });
}

void memory_outbound::flush() {
  if (ended_) return;
  auto w = watcher_.lock();
  if (!held_ && !aborted_ && !queue_.empty()) {
    const std::size_t n = queue_.size();
    std::size_t bytes = 0;
    for (auto& m : queue_) {
      bytes += m.size();
      written_.push_back(std::move(m));
    }
    queue_.clear();
    if (w) {
      w->on_taken(*this, n);
      w->on_written(*this, n, bytes, true);
    }
  }
  if (closing_ && (queue_.empty() || aborted_)) {
    std::size_t dropped_bytes = 0;
    for (const auto& m : queue_) dropped_bytes += m.size();
    const std::size_t dropped = queue_.size();
    queue_.clear();
    ended_ = true;
    if (w) w->on_ended(*this, dropped, dropped_bytes);
  }
}

}  // namespace exai::gateway
