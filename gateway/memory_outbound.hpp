// An outbound in memory, for component tests that drive a session without any transport: what
// the session pushes is kept in order for the test to take. "Writing" happens on a later turn of
// the executor, as with a real writer, and can be held to exercise back-pressure; a capacity makes
// push() report full.
#pragma once

#include "gateway/outbound.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>

namespace exai::gateway {

class memory_outbound final : public outbound,
                              public std::enable_shared_from_this<memory_outbound> {
 public:
  // capacity 0: never full.
  static std::shared_ptr<memory_outbound> create(boost::asio::any_io_executor ex,
                                                 std::string kind = "memory",
                                                 std::size_t capacity = 0);
  memory_outbound(boost::asio::any_io_executor ex, std::string kind, std::size_t capacity);

  push_result push(std::string message) override;
  void close(close_code code) override;
  void abort() noexcept override;
  bool ended() const noexcept override { return ended_; }
  void watch(std::weak_ptr<outbound_watcher> w) override { watcher_ = std::move(w); }
  std::string_view kind() const noexcept override { return kind_; }

  // The test's side.
  void hold(bool held);                 // while held, nothing queued is written
  std::optional<std::string> take();    // the oldest written message, if any
  std::size_t written() const noexcept { return written_.size(); }
  std::size_t queued() const noexcept { return queue_.size(); }
  bool closing() const noexcept { return closing_; }
  std::optional<close_code> closed_with() const noexcept { return code_; }

 private:
  void schedule();
  void flush();

  boost::asio::any_io_executor ex_;
  std::string kind_;
  std::size_t capacity_;
  std::deque<std::string> queue_;
  std::deque<std::string> written_;
  bool held_ = false;
  bool scheduled_ = false;
  bool closing_ = false;
  bool aborted_ = false;
  bool ended_ = false;
  std::optional<close_code> code_;
  std::weak_ptr<outbound_watcher> watcher_;
};

}  // namespace exai::gateway
