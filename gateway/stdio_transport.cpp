// The stdio transport (gateway/stdio_transport.hpp): stdin lines in, stdout lines out.
#include "gateway/stdio_transport.hpp"

#include "codecs/error.hpp"
#include "codecs/line_framer.hpp"
#include "observability/log.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <fcntl.h>
#include <mutex>
#include <span>
#include <string>
#include <sys/stat.h>
#include <sys/uio.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace exai::gateway {
namespace {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

constexpr std::size_t chunk_size = 64 * 1024;
constexpr std::size_t thread_buffer_limit = 4 * 1024 * 1024;  // reader thread pauses beyond this

bool is_pipe_or_socket(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  return S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
}

bool same_file(int a, int b) {
  struct stat sa {}, sb {};
  if (::fstat(a, &sa) != 0 || ::fstat(b, &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

// Blocking reads on a helper thread, handed to the executor chunk by chunk.
struct thread_reader {
  explicit thread_reader(asio::any_io_executor e) : ex(e), wake(e, asio::steady_timer::time_point::max()) {}

  asio::any_io_executor ex;
  asio::steady_timer wake;        // io side: cancelled when a chunk or eof arrives
  std::deque<std::string> chunks; // io side only
  bool eof = false;               // io side only
  int error = 0;                  // io side only
  // Shared with the thread.
  std::mutex mu;
  std::condition_variable space;
  std::size_t buffered = 0;
  bool stop = false;
};

void reader_thread_main(std::shared_ptr<thread_reader> r, int fd) {
  std::string buf(chunk_size, '\0');
  for (;;) {
    {
      std::unique_lock lock(r->mu);
      r->space.wait(lock, [&] { return r->stop || r->buffered < thread_buffer_limit; });
      if (r->stop) break;
    }
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : 0;
      asio::post(r->ex, [r, err] {
        r->eof = true;
        r->error = err;
        r->wake.cancel();
      });
      break;
    }
    {
      std::lock_guard lock(r->mu);
      r->buffered += static_cast<std::size_t>(n);
    }
    asio::post(r->ex, [r, chunk = std::string(buf.data(), static_cast<std::size_t>(n))]() mutable {
      r->chunks.push_back(std::move(chunk));
      r->wake.cancel();
    });
  }
  ::close(fd);
}

class stdio_transport final : public message_transport {
 public:
  stdio_transport(asio::any_io_executor ex, stdio_options o)
      : ex_(ex), opts_(o), framer_(o.max_line), in_(ex), out_(ex), buf_(chunk_size, '\0') {
    saved_in_flags_ = ::fcntl(o.in_fd, F_GETFL);
    saved_out_flags_ = ::fcntl(o.out_fd, F_GETFL);

    // Input: epoll for pipes and sockets, a thread for the rest.
    bool async_in = false;
    if (is_pipe_or_socket(o.in_fd)) {
      error_code ec;
      in_.assign(::dup(o.in_fd), ec);
      async_in = !ec;
    }
    if (!async_in) {
      int fd = ::dup(o.in_fd);
      reader_ = std::make_shared<thread_reader>(ex);
      if (fd >= 0) {
        thread_ = std::thread(reader_thread_main, reader_, fd);
      } else {
        reader_->eof = true;
      }
    }
    // Output: async only for a pipe or socket that is not also our stderr.
    if (is_pipe_or_socket(o.out_fd) && !same_file(o.out_fd, 2)) {
      error_code ec;
      out_.assign(::dup(o.out_fd), ec);
      async_out_ = !ec;
    }
    EXAI_LOG(debug, "stdio", "stdio transport", {"input", async_in ? "async" : "thread"},
             {"output", async_out_ ? "async" : "blocking"});
  }

  ~stdio_transport() override {
    if (reader_) {
      {
        std::lock_guard lock(reader_->mu);
        reader_->stop = true;
      }
      reader_->space.notify_all();
      // A thread blocked reading a terminal cannot be interrupted; it owns only shared state.
      if (thread_.joinable()) thread_.detach();
    }
    error_code ec;
    in_.close(ec);
    out_.close(ec);
    // Our dup()s share the open file descriptions: put back the blocking mode we found.
    if (saved_in_flags_ >= 0) ::fcntl(opts_.in_fd, F_SETFL, saved_in_flags_);
    if (saved_out_flags_ >= 0) ::fcntl(opts_.out_fd, F_SETFL, saved_out_flags_);
  }

  asio::any_io_executor get_executor() override { return ex_; }

  asio::awaitable<error_code> async_read_message(std::string_view& out) override {
    for (;;) {
      if (closed_) co_return asio::error::operation_aborted;
      if (auto line = framer_.next()) {
        if (!*line) co_return codecs::errc::message_too_large;
        current_ = std::move(**line);
        out = current_;
        co_return error_code();
      }
      if (eof_) co_return asio::error::eof;
      if (reader_) {
        co_await read_from_thread();
      } else {
        error_code ec;
        std::size_t n = co_await in_.async_read_some(
            asio::buffer(buf_), asio::redirect_error(asio::use_awaitable, ec));
        if (n > 0) framer_.feed(std::string_view(buf_.data(), n));
        if (ec) {
          if (ec != asio::error::eof && !closed_) {
            EXAI_LOG(warn, "stdio", "stdin read failed", {"error", ec.message()});
          }
          eof_ = true;
          if (ec != asio::error::eof) co_return ec;
        }
      }
    }
  }

  asio::awaitable<error_code> async_write_message(std::string_view message) override {
    if (broken_) co_return asio::error::broken_pipe;
    static constexpr char newline = '\n';
    std::array<asio::const_buffer, 2> bufs{asio::buffer(message.data(), message.size()),
                                           asio::buffer(&newline, 1)};
    error_code ec;
    if (async_out_) {
      co_await asio::async_write(out_, bufs, asio::redirect_error(asio::use_awaitable, ec));
    } else {
      ec = write_blocking(message);
    }
    if (ec) broken_ = true;
    co_return ec;
  }

  // A batch as one gather write (each message and its newline) where stdout is asynchronous:
  // replies that queued up together cost one writev, not one each.
  asio::awaitable<error_code> async_write_messages(std::span<const std::string> messages) override {
    if (!async_out_) {
      for (const auto& m : messages) {
        if (auto ec = co_await async_write_message(m)) co_return ec;
      }
      co_return error_code();
    }
    if (broken_) co_return asio::error::broken_pipe;
    static constexpr char newline = '\n';
    gather_.clear();
    for (const auto& m : messages) {
      gather_.push_back(asio::buffer(m.data(), m.size()));
      gather_.push_back(asio::buffer(&newline, 1));
    }
    error_code ec;
    co_await asio::async_write(out_, gather_, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) broken_ = true;
    co_return ec;
  }

  void abort_writes() noexcept override {
    broken_ = true;
    error_code ec;
    out_.cancel(ec);
  }

  asio::awaitable<void> async_close(close_code) override {
    closed_ = true;
    error_code ec;
    in_.cancel(ec);
    if (reader_) reader_->wake.cancel();
    co_return;
  }

  std::string_view kind() const noexcept override { return "stdio"; }
  bool replies_after_eof() const noexcept override { return true; }

 private:
  asio::awaitable<void> read_from_thread() {
    auto& r = *reader_;
    while (r.chunks.empty() && !r.eof && !closed_) {
      error_code ec;
      co_await r.wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    std::size_t consumed = 0;
    while (!r.chunks.empty()) {
      consumed += r.chunks.front().size();
      framer_.feed(r.chunks.front());
      r.chunks.pop_front();
    }
    if (consumed > 0) {
      {
        std::lock_guard lock(r.mu);
        r.buffered -= consumed;
      }
      r.space.notify_all();
    }
    if (r.chunks.empty() && r.eof) eof_ = true;
  }

  error_code write_blocking(std::string_view message) {
    std::array<iovec, 2> iov{iovec{const_cast<char*>(message.data()), message.size()},
                             iovec{const_cast<char*>("\n"), 1}};
    std::size_t total = message.size() + 1;
    std::size_t done = 0;
    while (done < total) {
      // Skip what was written already across the two pieces.
      iovec v[2];
      int count = 0;
      std::size_t skip = done;
      for (auto& piece : iov) {
        if (skip >= piece.iov_len) {
          skip -= piece.iov_len;
          continue;
        }
        v[count++] = iovec{static_cast<char*>(piece.iov_base) + skip, piece.iov_len - skip};
        skip = 0;
      }
      ssize_t n = ::writev(opts_.out_fd, v, count);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) {  // someone made it non-blocking: wait until writable
          ::usleep(1000);
          continue;
        }
        return error_code(errno, boost::system::system_category());
      }
      done += static_cast<std::size_t>(n);
    }
    return {};
  }

  asio::any_io_executor ex_;
  stdio_options opts_;
  codecs::line_framer framer_;
  asio::posix::stream_descriptor in_;
  asio::posix::stream_descriptor out_;
  bool async_out_ = false;
  std::shared_ptr<thread_reader> reader_;
  std::thread thread_;
  std::string buf_;
  std::string current_;
  std::vector<asio::const_buffer> gather_;  // async_write_messages' pieces, reused
  bool eof_ = false;
  bool closed_ = false;
  bool broken_ = false;
  int saved_in_flags_ = -1;
  int saved_out_flags_ = -1;
};

}  // namespace

std::unique_ptr<message_transport> make_stdio_transport(asio::any_io_executor ex,
                                                        stdio_options opts) {
  return std::make_unique<stdio_transport>(ex, opts);
}

}  // namespace exai::gateway
