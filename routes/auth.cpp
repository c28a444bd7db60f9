// Constant-time token comparison (routes/auth.hpp).
#include "routes/auth.hpp"

namespace exai::routes {

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  // Compare every byte of the expected length whatever the input, folding the length difference
  // in, so neither an early mismatch nor a short guess is faster.
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  const std::size_t n = b.size();
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0u;
    diff |= x ^ static_cast<unsigned char>(b[i]);
  }
  // The volatile read keeps the compiler from short-circuiting the loop above.
  volatile unsigned sink = diff;
  return sink == 0;
}

}  // namespace exai::routes
