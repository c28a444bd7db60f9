// System calls a process makes over the measured window, counted by `perf stat` on the
// raw_syscalls:sys_enter tracepoint (Debian's linux-perf; scripts/setup installs it). Counting,
// not sampling: the process pays a tracepoint hit per system call and nothing else.
// Where perf is missing or the kernel refuses it (perf_event_paranoid, a container without
// tracefs) the count is simply absent from the report.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace exai::bench {

class syscall_counter {
 public:
  syscall_counter() = default;
  syscall_counter(const syscall_counter&) = delete;
  syscall_counter& operator=(const syscall_counter&) = delete;
  ~syscall_counter();  // stops a counter still running

  // Starts counting for pid (perf attaches within a few milliseconds: the window's first calls may
  // be missed, well under 1% of a 10-second window). False when perf could not be started.
  bool start(int pid);
  // Stops counting: the system calls since start(), or nullopt when perf counted nothing usable.
  std::optional<std::uint64_t> stop();

 private:
  int perf_pid_ = -1;
  std::string out_path_;
};

// The count in `perf stat -x,` output for the raw_syscalls:sys_enter event; nullopt when absent
// or reported as "<not counted>" / "<not supported>".
std::optional<std::uint64_t> parse_perf_syscalls(const std::string& csv);

}  // namespace exai::bench
