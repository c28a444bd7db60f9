// Counts a backend's tool-set changes the way the gateway watches them
// (tool_backend::async_wait_tools_changed), until the counter goes away.
#pragma once

#include "routes/tool_backend.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <cstdint>
#include <memory>

namespace exai::test {

class tool_changes {
 public:
  tool_changes(routes::tool_backend& backend, boost::asio::any_io_executor ex) {
    boost::asio::co_spawn(
        ex, count(backend, state_),
        boost::asio::bind_cancellation_slot(state_->stop.slot(), boost::asio::detached));
  }
  ~tool_changes() { state_->stop.emit(boost::asio::cancellation_type::terminal); }
  tool_changes(const tool_changes&) = delete;
  tool_changes& operator=(const tool_changes&) = delete;

  int count() const { return state_->n; }

 private:
  // Shared with the waiting coroutine, which resumes after this object is gone: its cancellation
  // slot lives in the signal, so the signal must outlive it too.
  struct state {
    int n = 0;
    boost::asio::cancellation_signal stop;
  };

  static boost::asio::awaitable<void> count(routes::tool_backend& backend,
                                            std::shared_ptr<state> st) {
    std::uint64_t seen = 0;
    for (;;) {
      const std::uint64_t now = co_await backend.async_wait_tools_changed(seen);
      st->n += static_cast<int>(now - seen);
      seen = now;
    }
  }

  std::shared_ptr<state> state_ = std::make_shared<state>();
};

}  // namespace exai::test
