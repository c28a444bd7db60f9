// What exai-bench reports about the process under test: peak and current RSS
// (/proc/PID/status VmHWM, VmRSS), CPU seconds and minor page faults (/proc/PID/stat), and
// context switches summed over its threads (/proc/PID/task/*/status).
#pragma once

#include <cstdint>
#include <optional>

namespace exai::bench {

struct proc_sample {
  long rss_peak_kb = 0;  // VmHWM
  long rss_kb = 0;       // VmRSS
  double cpu_s = 0;      // utime + stime
  std::uint64_t minor_faults = 0;     // minflt, every thread
  std::uint64_t voluntary_cs = 0;     // the threads gave up the CPU (blocked: epoll_wait, futex...)
  std::uint64_t involuntary_cs = 0;   // the scheduler took it from them
};

// nullopt when the process does not exist (or is a zombie without memory figures).
std::optional<proc_sample> sample_process(int pid);
// This process's own CPU seconds (user + system), from getrusage.
double self_cpu_seconds();

}  // namespace exai::bench
