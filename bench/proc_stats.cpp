// Reads /proc/PID/status and /proc/PID/stat (proc(5)) for the target process's memory and CPU.
#include "bench/proc_stats.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace exai::bench {

std::optional<proc_sample> sample_process(int pid) {
  if (pid <= 0) return std::nullopt;
  proc_sample s;
  bool have_mem = false;
  {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    if (!status) return std::nullopt;
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("VmHWM:", 0) == 0) {
        s.rss_peak_kb = std::strtol(line.c_str() + 6, nullptr, 10);
        have_mem = true;
      } else if (line.rfind("VmRSS:", 0) == 0) {
        s.rss_kb = std::strtol(line.c_str() + 6, nullptr, 10);
      }
    }
  }
  if (!have_mem) return std::nullopt;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Field 2 (comm) is in parentheses and may contain spaces: parse from the last ')'.
  auto close = text.rfind(')');
  if (close == std::string::npos) return s;
  std::istringstream rest(text.substr(close + 2));
  // After comm: state(3) ppid(4) pgrp(5) session(6) tty_nr(7) tpgid(8) flags(9) minflt(10)
  // cminflt(11) majflt(12) cmajflt(13) utime(14) stime(15).
  std::string field;
  for (int i = 3; i <= 9 && rest >> field; ++i) {
  }
  unsigned long long minflt = 0, cminflt = 0, majflt = 0, cmajflt = 0, utime = 0, stime = 0;
  rest >> minflt >> cminflt >> majflt >> cmajflt >> utime >> stime;
  s.minor_faults = minflt;
  s.cpu_s = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  // Context switches are counted per thread; a thread that ended since the last sample drops out
  // (the programs measured keep their threads for their whole life).
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream ts(task.path() / "status");
    std::string line;
    while (std::getline(ts, line)) {
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0)
        s.voluntary_cs += std::strtoull(line.c_str() + 24, nullptr, 10);
      else if (line.rfind("nonvoluntary_ctxt_switches:", 0) == 0)
        s.involuntary_cs += std::strtoull(line.c_str() + 27, nullptr, 10);
    }
  }
  return s;
}

double self_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

}  // namespace exai::bench
