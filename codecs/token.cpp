// Constant-time token comparison (codecs/token.hpp).
#include "codecs/token.hpp"

#include <cstddef>

namespace exai::codecs {

bool constant_time_equal(std::string_view expected, std::string_view given) noexcept {
  unsigned diff = expected.size() == given.size() ? 0u : 1u;
  for (std::size_t i = 0; i < given.size(); ++i) {
    const unsigned char e = i < expected.size() ? static_cast<unsigned char>(expected[i]) : 0u;
    diff |= e ^ static_cast<unsigned char>(given[i]);
  }
  // The volatile read keeps the compiler from turning the loop into an early-exit compare.
  volatile unsigned sink = diff;
  return sink == 0;
}

}  // namespace exai::codecs
