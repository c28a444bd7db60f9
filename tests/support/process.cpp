// Child processes for integration tests (posix_spawn; stderr to a temp file; optional pipes).
#include "tests/support/process.hpp"

#include "tests/support/files.hpp"

#include <boost/json/parse.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace exai::test {
namespace {

int decode_status(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}


}  // namespace

std::string temp_path(std::string_view stem) {
  static std::atomic<unsigned> seq{0};
  std::ostringstream ss;
  ss << "/tmp/exai-test-" << stem << "-" << ::getpid() << "-" << seq++;
  return ss.str();
}

std::uint16_t port_of(const std::string& host_port) {
  auto colon = host_port.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("no port in " + host_port);
  return static_cast<std::uint16_t>(std::stoi(host_port.substr(colon + 1)));
}

std::string program(const char* env_var) {
  const char* p = std::getenv(env_var);
  if (!p || !*p) throw std::runtime_error(std::string(env_var) + " is not set (run through ctest)");
  return p;
}

listening_child start_listening(std::vector<std::string> argv, std::vector<std::string> env) {
  const std::string ready = temp_path("listening-child-ready");
  argv.push_back("--ready-file");
  argv.push_back(ready);
  listening_child c{child_process::start(std::move(argv), std::move(env)), 0};
  c.port = port_of(std::string(c.proc.wait_ready(ready).at("ws").as_string()));
  std::remove(ready.c_str());
  return c;
}

child_process child_process::start(std::vector<std::string> argv,
                                   std::vector<std::string> extra_env, bool pipe_stdio) {
  child_process c;
  c.err_path_ = temp_path("stderr");

  // Environment: ours, with extra_env entries replacing same-named ones.
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    auto name = kv.substr(0, kv.find('='));
    bool replaced = false;
    for (auto& x : extra_env)
      if (std::string_view(x).substr(0, x.find('=')) == name) replaced = true;
    if (!replaced) env.emplace_back(kv);
  }
  for (auto& x : extra_env) env.push_back(x);

  std::vector<char*> cargv, cenv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  for (auto& e : env) cenv.push_back(e.data());
  cenv.push_back(nullptr);

  int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (pipe_stdio) {
    if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  } else {
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_addopen(&fa, 2, c.err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (!pipe_stdio) posix_spawn_file_actions_adddup2(&fa, 2, 1);

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, cargv[0], &fa, nullptr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&fa);
  if (pipe_stdio) {
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
  }
  if (rc != 0) {
    if (pipe_stdio) {
      ::close(in_pipe[1]);
      ::close(out_pipe[0]);
    }
    throw std::runtime_error("posix_spawn " + argv[0] + ": " + std::strerror(rc));
  }
  c.pid_ = pid;
  c.in_fd_ = in_pipe[1];
  c.out_fd_ = out_pipe[0];
  return c;
}

child_process::child_process(child_process&& o) noexcept { *this = std::move(o); }

child_process& child_process::operator=(child_process&& o) noexcept {
  if (this != &o) {
    if (pid_ > 0) kill();
    pid_ = std::exchange(o.pid_, -1);
    status_ = std::exchange(o.status_, std::nullopt);
    in_fd_ = std::exchange(o.in_fd_, -1);
    out_fd_ = std::exchange(o.out_fd_, -1);
    out_eof_ = o.out_eof_;
    out_buf_ = std::move(o.out_buf_);
    err_path_ = std::move(o.err_path_);
  }
  return *this;
}

child_process::~child_process() {
  if (pid_ > 0) kill();
  if (in_fd_ >= 0) ::close(in_fd_);
  if (out_fd_ >= 0) ::close(out_fd_);
  if (!err_path_.empty()) ::unlink(err_path_.c_str());
}

void child_process::signal(int sig) {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

bool child_process::running() {
  if (pid_ <= 0 || status_) return false;
  int st = 0;
  if (::waitpid(pid_, &st, WNOHANG) == pid_) {
    status_ = decode_status(st);
    return false;
  }
  return true;
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return status_;
}

void child_process::kill() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    if (::waitpid(pid_, &st, 0) == pid_) status_ = decode_status(st);
  }
}

std::string child_process::stderr_text() const { return read_file(err_path_); }

void child_process::write_stdin(std::string_view data) {
  if (in_fd_ < 0) throw std::runtime_error("stdin is not a pipe (or closed)");
  while (!data.empty()) {
    ssize_t n = ::write(in_fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("write to child stdin: ") + std::strerror(errno));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

void child_process::close_stdin() {
  if (in_fd_ >= 0) ::close(in_fd_);
  in_fd_ = -1;
}

std::optional<std::string> child_process::read_stdout_line(std::chrono::milliseconds timeout) {
  if (out_fd_ < 0) throw std::runtime_error("stdout is not a pipe");
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto nl = out_buf_.find('\n'); nl != std::string::npos) {
      std::string line = out_buf_.substr(0, nl);
      out_buf_.erase(0, nl + 1);
      return line;
    }
    if (out_eof_) return std::nullopt;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{out_fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char buf[65536];
    ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      out_eof_ = true;
      continue;
    }
    out_buf_.append(buf, static_cast<std::size_t>(n));
  }
}

boost::json::object wait_ready_file(const std::string& path, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    struct stat st{};
    if (::stat(path.c_str(), &st) == 0 && st.st_size > 0) {
      boost::system::error_code ec;
      auto v = boost::json::parse(read_file(path), ec);
      if (!ec && v.is_object()) return v.as_object();
    }
    if (std::chrono::steady_clock::now() >= deadline)
      throw std::runtime_error("ready file " + path + " did not appear in time");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

boost::json::object child_process::wait_ready(const std::string& ready_file,
                                              std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    try {
      return wait_ready_file(ready_file, std::chrono::milliseconds(50));
    } catch (const std::runtime_error&) {
    }
    if (!running())
      throw std::runtime_error("process exited (" + std::to_string(status_.value_or(-1)) +
                               ") before writing " + ready_file + "; stderr:\n" + stderr_text());
    if (std::chrono::steady_clock::now() >= deadline)
      throw std::runtime_error("no ready file " + ready_file + " in time; stderr:\n" +
                               stderr_text());
  }
}

}  // namespace exai::test
