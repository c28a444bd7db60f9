// Child processes for integration tests: the real exai-daemon / exai-gateway started on loopback,
// stderr captured to a file, optional stdin/stdout pipes, always reaped.
#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace exai::test {

class child_process {
 public:
  // argv[0] is the program path. extra_env entries are "NAME=value" (added to, or replacing, ours).
  // pipe_stdio: stdin and stdout become pipes (write_stdin / read_stdout_line); otherwise stdin is
  // /dev/null and stdout is captured with stderr.
  static child_process start(std::vector<std::string> argv, std::vector<std::string> extra_env = {},
                             bool pipe_stdio = false);

  child_process(child_process&& o) noexcept;
  child_process& operator=(child_process&& o) noexcept;
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process();  // SIGKILL + reap if still running

  int pid() const { return pid_; }
  void signal(int sig);
  // The exit code (128+N when killed by signal N), or nullopt if still running after timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  bool running();
  void kill();  // SIGKILL and reap
  std::string stderr_text() const;

  void write_stdin(std::string_view data);
  void close_stdin();
  // One line from stdout without "\n", or nullopt on timeout or EOF.
  std::optional<std::string> read_stdout_line(std::chrono::milliseconds timeout);
  bool stdout_eof() const { return out_eof_; }

  // Waits for a --ready-file to appear and parses it; throws (with the child's stderr) if the
  // child exits first or the timeout passes.
  boost::json::object wait_ready(const std::string& ready_file,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(20));

 private:
  child_process() = default;
  int pid_ = -1;
  std::optional<int> status_;
  int in_fd_ = -1, out_fd_ = -1;
  bool out_eof_ = false;
  std::string out_buf_;
  std::string err_path_;
};

// Waits for the file (written atomically by the program) and parses it as a JSON object.
boost::json::object wait_ready_file(const std::string& path, std::chrono::milliseconds timeout);
// A unique path under /tmp (not created).
std::string temp_path(std::string_view stem);
// "127.0.0.1:4012" -> 4012.
std::uint16_t port_of(const std::string& host_port);
// Path of a program from the environment (EXAI_DAEMON_BIN, ...); throws when unset.
std::string program(const char* env_var);

// A server child (exai-daemon, a test double) and the WebSocket port its ready file names.
struct listening_child {
  child_process proc;
  std::uint16_t port = 0;
};
// Starts argv with `--ready-file PATH` appended (argv itself says where to --listen) and waits
// for the ready file (20 s); `env` as for child_process::start.
listening_child start_listening(std::vector<std::string> argv, std::vector<std::string> env = {});

}  // namespace exai::test
