#include "bench/syscall_count.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

extern char** environ;

namespace exai::bench {

std::optional<std::uint64_t> parse_perf_syscalls(const std::string& csv) {
  std::istringstream in(csv);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("raw_syscalls:sys_enter") == std::string::npos) continue;
    const auto comma = line.find(',');
    const std::string value = line.substr(0, comma);
    if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    return std::strtoull(value.c_str(), nullptr, 10);
  }
  return std::nullopt;
}

syscall_counter::~syscall_counter() { stop(); }

bool syscall_counter::start(int pid) {
  stop();
  if (pid <= 0) return false;
  char path[] = "/tmp/exai-bench-perf-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) return false;
  ::close(fd);
  out_path_ = path;
  const std::string pid_text = std::to_string(pid);
  std::vector<std::string> args = {"perf", "stat", "-x", ",", "-e", "raw_syscalls:sys_enter",
                                   "-p", pid_text, "-o", out_path_};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // perf's own complaints (not installed, not permitted) must not land in the bench's output.
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  pid_t child = -1;
  const int rc = ::posix_spawnp(&child, "perf", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    std::remove(out_path_.c_str());
    out_path_.clear();
    return false;
  }
  perf_pid_ = child;
  return true;
}

std::optional<std::uint64_t> syscall_counter::stop() {
  if (perf_pid_ <= 0) return std::nullopt;
  ::kill(perf_pid_, SIGINT);  // perf stat prints its counts on SIGINT
  int status = 0;
  ::waitpid(perf_pid_, &status, 0);
  perf_pid_ = -1;
  std::ifstream in(out_path_);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::remove(out_path_.c_str());
  out_path_.clear();
  return parse_perf_syscalls(text);
}

}  // namespace exai::bench
