// The in-memory transport pair behind component tests (gateway/memory_transport.hpp).
#include "gateway/memory_transport.hpp"

#include "codecs/error.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <deque>

namespace exai::gateway {

namespace asio = boost::asio;

struct memory_pipe::state {
  explicit state(asio::any_io_executor e)
      : ex(e), input_wake(e, clock_max()), output_wake(e, clock_max()), write_wake(e, clock_max()) {}
  static asio::steady_timer::time_point clock_max() { return asio::steady_timer::time_point::max(); }

  asio::any_io_executor ex;
  std::string kind;
  bool replies_after_eof = false;
  std::deque<std::string> input;  // "\0oversize" marks an oversize message
  bool input_closed = false;
  std::size_t reads = 0;
  std::string current;  // what the session's last read refers to
  std::deque<std::string> output;
  bool paused = false;
  bool closed = false;
  close_code code = close_code::normal;
  asio::steady_timer input_wake, output_wake, write_wake;
};

namespace {

const std::string oversize_marker("\0oversize", 9);

class memory_transport final : public message_transport {
 public:
  explicit memory_transport(std::shared_ptr<memory_pipe::state> s) : s_(std::move(s)) {}

  asio::any_io_executor get_executor() override { return s_->ex; }

  asio::awaitable<boost::system::error_code> async_read_message(std::string_view& out) override {
    auto s = s_;
    while (s->input.empty() && !s->input_closed && !s->closed) {
      boost::system::error_code ec;
      co_await s->input_wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (s->closed) co_return asio::error::operation_aborted;
    if (s->input.empty()) co_return asio::error::eof;
    s->current = std::move(s->input.front());
    s->input.pop_front();
    ++s->reads;
    if (s->current == oversize_marker) co_return codecs::errc::message_too_large;
    out = s->current;
    co_return boost::system::error_code();
  }

  asio::awaitable<boost::system::error_code> async_write_message(std::string_view m) override {
    auto s = s_;
    while (s->paused && !s->closed) {
      boost::system::error_code ec;
      co_await s->write_wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (s->closed) co_return asio::error::broken_pipe;
    s->output.emplace_back(m);
    s->output_wake.cancel();
    co_return boost::system::error_code();
  }

  asio::awaitable<void> async_close(close_code code) override {
    if (!s_->closed) {
      s_->closed = true;
      s_->code = code;
    }
    s_->input_wake.cancel();
    s_->output_wake.cancel();
    s_->write_wake.cancel();
    co_return;
  }

  std::string_view kind() const noexcept override { return s_->kind; }
  bool replies_after_eof() const noexcept override { return s_->replies_after_eof; }

 private:
  std::shared_ptr<memory_pipe::state> s_;
};

}  // namespace

memory_pipe::memory_pipe(asio::any_io_executor ex, std::string kind, bool replies_after_eof)
    : state_(std::make_shared<state>(ex)) {
  state_->kind = std::move(kind);
  state_->replies_after_eof = replies_after_eof;
}

memory_pipe::~memory_pipe() = default;

std::unique_ptr<message_transport> memory_pipe::transport() {
  return std::make_unique<memory_transport>(state_);
}

void memory_pipe::push(std::string message) {
  state_->input.push_back(std::move(message));
  state_->input_wake.cancel();
}

void memory_pipe::push_oversize() { push(oversize_marker); }

void memory_pipe::close_input() {
  state_->input_closed = true;
  state_->input_wake.cancel();
}

std::size_t memory_pipe::unread() const { return state_->input.size(); }
std::size_t memory_pipe::reads() const { return state_->reads; }

asio::awaitable<std::optional<std::string>> memory_pipe::async_next(
    std::chrono::milliseconds timeout) {
  auto s = state_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (s->output.empty() && !s->closed) {
    // output_wake is cancelled on each write; a separate timer bounds the wait.
    bool timed_out = false;
    s->output_wake.expires_at(deadline);
    boost::system::error_code ec;
    co_await s->output_wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) timed_out = true;
    s->output_wake.expires_at(state::clock_max());
    if (timed_out) break;
  }
  if (s->output.empty()) co_return std::nullopt;
  std::string m = std::move(s->output.front());
  s->output.pop_front();
  co_return m;
}

std::size_t memory_pipe::written() const { return state_->output.size(); }

std::optional<std::string> memory_pipe::take() {
  if (state_->output.empty()) return std::nullopt;
  std::string m = std::move(state_->output.front());
  state_->output.pop_front();
  return m;
}

void memory_pipe::pause_writes(bool paused) {
  state_->paused = paused;
  if (!paused) state_->write_wake.cancel();
}

bool memory_pipe::closed() const { return state_->closed; }
close_code memory_pipe::closed_with() const { return state_->code; }

}  // namespace exai::gateway
