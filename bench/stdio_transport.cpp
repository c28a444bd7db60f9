// exai-bench's stdio side: spawns the command under test with pipes (one JSON message per line,
// mcp-server-rules.md "stdio transport"), reaps it, and a minimal HTTP GET for /metrics.
// Plain Asio only (no Beast).
#include "bench/transport.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sched.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

extern char** environ;

namespace exai::bench {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace {

class pipe_transport final : public message_transport {
 public:
  pipe_transport(asio::any_io_executor ex, int in_fd, int out_fd) : in_(ex, in_fd), out_(ex, out_fd) {}

  asio::awaitable<void> async_write(std::string_view msg) override {
    std::array<asio::const_buffer, 2> bufs{asio::buffer(msg.data(), msg.size()), asio::buffer("\n", 1)};
    co_await asio::async_write(in_, bufs, asio::use_awaitable);
  }

  asio::awaitable<std::string_view> async_read() override {
    if (consumed_) {
      buf_.erase(0, consumed_);
      consumed_ = 0;
    }
    for (;;) {
      std::size_t n = co_await asio::async_read_until(out_, asio::dynamic_buffer(buf_), '\n',
                                                      asio::use_awaitable);
      consumed_ = n;
      std::string_view line(buf_.data(), n - 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (!line.empty()) co_return line;
      buf_.erase(0, consumed_);  // blank lines carry nothing
      consumed_ = 0;
    }
  }

  asio::awaitable<void> async_close() override {
    boost::system::error_code ec;
    in_.close(ec);  // EOF on the child's stdin: it should exit (mcp-server-rules.md)
    co_return;
  }

  void abort() override {
    boost::system::error_code ec;
    in_.close(ec);
    out_.close(ec);
  }

 private:
  asio::posix::stream_descriptor in_, out_;
  std::string buf_;
  std::size_t consumed_ = 0;
};

void check(int rc, const char* what) {
  if (rc != 0) throw std::system_error(rc, std::generic_category(), what);
}

}  // namespace

child_stdio spawn_stdio(asio::any_io_executor ex, const std::vector<std::string>& argv,
                        const std::string& stderr_file) {
  int in_pipe[2], out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0)
    throw std::system_error(errno, std::generic_category(), "pipe2");
  posix_spawn_file_actions_t fa;
  check(posix_spawn_file_actions_init(&fa), "posix_spawn_file_actions_init");
  posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  if (!stderr_file.empty())
    posix_spawn_file_actions_addopen(&fa, 2, stderr_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // The child is the process under test: it runs in the normal scheduling class even when the
  // generator put itself in SCHED_BATCH (a class is inherited across exec).
  posix_spawnattr_t attr;
  check(posix_spawnattr_init(&attr), "posix_spawnattr_init");
  sched_param normal{};
  normal.sched_priority = 0;
  posix_spawnattr_setschedpolicy(&attr, SCHED_OTHER);
  posix_spawnattr_setschedparam(&attr, &normal);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSCHEDULER);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  if (rc != 0) {
    ::close(in_pipe[1]);
    ::close(out_pipe[0]);
    throw std::system_error(rc, std::generic_category(), "spawn " + argv[0]);
  }
  child_stdio c;
  c.pid = pid;
  c.transport = std::make_unique<pipe_transport>(ex, in_pipe[1], out_pipe[0]);
  return c;
}

asio::awaitable<int> async_reap(int pid, std::chrono::milliseconds timeout) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool killed = false;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) co_return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0) co_return -1;
    if (!killed && std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
    t.expires_after(std::chrono::milliseconds(10));
    co_await t.async_wait(asio::use_awaitable);
  }
}

namespace {

asio::awaitable<std::optional<std::string>> http_get_inner(ws_target t) {
  auto ex = co_await asio::this_coro::executor;
  asio::ip::tcp::resolver resolver(ex);
  auto eps = co_await resolver.async_resolve(t.host, t.port, asio::use_awaitable);
  asio::ip::tcp::socket sock(ex);
  co_await asio::async_connect(sock, eps, asio::use_awaitable);
  std::string req = "GET " + t.path + " HTTP/1.1\r\nHost: " + t.host + ":" + t.port +
                    "\r\nUser-Agent: exai-bench\r\nConnection: close\r\n\r\n";
  co_await asio::async_write(sock, asio::buffer(req), asio::use_awaitable);
  std::string resp;
  boost::system::error_code ec;
  co_await asio::async_read(sock, asio::dynamic_buffer(resp),
                            asio::redirect_error(asio::use_awaitable, ec));  // until EOF
  if (resp.rfind("HTTP/1.", 0) != 0 || resp.size() < 12 || resp.compare(9, 3, "200") != 0)
    co_return std::nullopt;
  auto body = resp.find("\r\n\r\n");
  if (body == std::string::npos) co_return std::nullopt;
  std::string head = resp.substr(0, body);
  std::string b = resp.substr(body + 4);
  // Chunked bodies: join the chunks (a /metrics page is small).
  std::string lower = head;
  for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (lower.find("transfer-encoding: chunked") != std::string::npos) {
    std::string out;
    std::size_t p = 0;
    while (p < b.size()) {
      auto eol = b.find("\r\n", p);
      if (eol == std::string::npos) break;
      std::size_t n = std::strtoul(b.substr(p, eol - p).c_str(), nullptr, 16);
      if (n == 0) break;
      out += b.substr(eol + 2, n);
      p = eol + 2 + n + 2;
    }
    b = std::move(out);
  }
  co_return b;
}

}  // namespace

asio::awaitable<std::optional<std::string>> async_http_get(std::string url,
                                                           std::chrono::milliseconds timeout) {
  auto t = parse_url(url, "http");
  if (!t) co_return std::nullopt;
  asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
  try {
    auto r = co_await (http_get_inner(*t) || timer.async_wait(asio::use_awaitable));
    if (r.index() == 0) co_return std::get<0>(r);
  } catch (const std::exception&) {
  }
  co_return std::nullopt;
}

}  // namespace exai::bench
