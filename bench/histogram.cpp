// Log-linear latency buckets (see histogram.hpp): index arithmetic and nearest-rank quantiles.
#include "bench/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace exai::bench {

std::size_t histogram::index_of(std::uint64_t ns) noexcept {
  if (ns < sub_count) return static_cast<std::size_t>(ns);  // exact below 2^sub_bits
  unsigned e = static_cast<unsigned>(std::bit_width(ns)) - 1;  // floor(log2 ns) >= sub_bits
  if (e >= max_bits) return bucket_count - 1;
  std::uint64_t sub = (ns >> (e - sub_bits)) & (sub_count - 1);
  return (e - sub_bits + 1) * sub_count + static_cast<std::size_t>(sub);
}

std::uint64_t histogram::lower_bound_of(std::size_t index) noexcept {
  if (index < sub_count) return index;
  std::size_t tier = index / sub_count;  // >= 1
  std::uint64_t sub = index % sub_count;
  unsigned e = static_cast<unsigned>(tier) + sub_bits - 1;
  return (std::uint64_t{1} << e) + (sub << (e - sub_bits));
}

std::uint64_t histogram::width_of(std::size_t index) noexcept {
  if (index < sub_count) return 1;
  unsigned e = static_cast<unsigned>(index / sub_count) + sub_bits - 1;
  return std::uint64_t{1} << (e - sub_bits);
}

void histogram::record(std::uint64_t ns) noexcept {
  ++counts_[index_of(ns)];
  ++count_;
  sum_ += ns;
  min_ = std::min(min_, ns);
  max_ = std::max(max_, ns);
}

void histogram::merge(const histogram& o) noexcept {
  for (std::size_t i = 0; i < bucket_count; ++i) counts_[i] += o.counts_[i];
  count_ += o.count_;
  sum_ += o.sum_;
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
}

void histogram::clear() noexcept { *this = histogram{}; }

std::uint64_t histogram::quantile(double q) const noexcept {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      std::uint64_t mid = lower_bound_of(i) + width_of(i) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

}  // namespace exai::bench
