// Metrics registry rendered as Prometheus text. Counters, gauges and histograms are lock-free to
// update; look one up once (the lookup takes a lock) and keep the reference.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace exai::obs {

using labels = std::vector<std::pair<std::string, std::string>>;

class counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }
 private:
  std::atomic<std::uint64_t> v_{0};
};

class gauge {
 public:
  void set(std::int64_t v) noexcept { v_.store(v, std::memory_order_relaxed); }
  void add(std::int64_t d) noexcept { v_.fetch_add(d, std::memory_order_relaxed); }
  std::int64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }
 private:
  std::atomic<std::int64_t> v_{0};
};

// Latency histogram in seconds with fixed buckets (100us .. 60s).
class histogram {
 public:
  histogram();
  void observe(double seconds) noexcept;
  std::uint64_t count() const noexcept;
  double sum() const noexcept;
  static const std::vector<double>& bounds();
  std::uint64_t bucket(std::size_t i) const noexcept;  // non-cumulative
 private:
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds().size() + 1 (+Inf)
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_us_{0};
};

class registry {
 public:
  // Out of line because family is complete only in metrics.cpp (added: a registry can now be
  // created outside metrics.cpp, e.g. one per test).
  registry();
  ~registry();

  counter& get_counter(std::string_view name, std::string_view help, const labels& l = {});
  gauge& get_gauge(std::string_view name, std::string_view help, const labels& l = {});
  histogram& get_histogram(std::string_view name, std::string_view help, const labels& l = {});

  // Prometheus text exposition format 0.0.4.
  std::string render() const;

 private:
  struct family;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<family>, std::less<>> families_;
};

// The process-wide registry.
registry& metrics();

}  // namespace exai::obs
