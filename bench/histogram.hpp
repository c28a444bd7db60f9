// Latency histogram for exai-bench: log-linear buckets in the manner of HDR histograms, a fixed
// array allocated once, so recording a sample never allocates (issue 7: "without allocation per
// request").
#pragma once

#include <array>
#include <cstdint>

namespace exai::bench {

class histogram {
 public:
  // 2^sub_bits linear sub-buckets per power of two: the relative error of a reported value is at
  // most 2^-sub_bits (0.8 %). Values are nanoseconds; anything at or above 2^max_bits (~18 min)
  // lands in the top bucket (max() stays exact).
  static constexpr unsigned sub_bits = 7;
  static constexpr unsigned max_bits = 40;
  static constexpr std::size_t sub_count = std::size_t{1} << sub_bits;
  static constexpr std::size_t bucket_count = (max_bits - sub_bits + 1) * sub_count;

  void record(std::uint64_t ns) noexcept;
  void merge(const histogram& other) noexcept;
  void clear() noexcept;

  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t min() const noexcept { return count_ ? min_ : 0; }
  std::uint64_t max() const noexcept { return max_; }
  double mean() const noexcept { return count_ ? static_cast<double>(sum_) / count_ : 0.0; }
  // The value at quantile q in [0, 1] (nearest rank), as the midpoint of its bucket clamped to
  // [min, max]; 0 when empty.
  std::uint64_t quantile(double q) const noexcept;

  static std::size_t index_of(std::uint64_t ns) noexcept;
  static std::uint64_t lower_bound_of(std::size_t index) noexcept;
  static std::uint64_t width_of(std::size_t index) noexcept;

 private:
  std::array<std::uint64_t, bucket_count> counts_{};
  std::uint64_t count_ = 0, sum_ = 0, min_ = ~std::uint64_t{0}, max_ = 0;
};

}  // namespace exai::bench
