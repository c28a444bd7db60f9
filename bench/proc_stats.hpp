// What exai-bench reports about the process under test: peak and current RSS
// (/proc/PID/status VmHWM, VmRSS) and CPU seconds (/proc/PID/stat utime + stime).
#pragma once

#include <optional>

namespace exai::bench {

struct proc_sample {
  long rss_peak_kb = 0;  // VmHWM
  long rss_kb = 0;       // VmRSS
  double cpu_s = 0;      // utime + stime
};

// nullopt when the process does not exist (or is a zombie without memory figures).
std::optional<proc_sample> sample_process(int pid);
// This process's own CPU seconds (user + system), from getrusage.
double self_cpu_seconds();

}  // namespace exai::bench
