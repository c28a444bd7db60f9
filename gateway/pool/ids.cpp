// Random identifiers for the upstream protocol: request_id UUIDs and per-connection session ids.
#include "gateway/pool/ids.hpp"

#include <array>

namespace exai::gateway::pool {

namespace {
constexpr char hex_digits[] = "0123456789abcdef";

std::mt19937_64 seeded_engine() {
  std::random_device rd;
  std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
  return std::mt19937_64(seq);
}
}  // namespace

id_source::id_source() : rng_(seeded_engine()) {}
id_source::id_source(std::uint64_t seed) : rng_(seed) {}

std::string id_source::uuid_v4() {
  std::array<std::uint8_t, 16> b{};
  const std::uint64_t hi = rng_(), lo = rng_();
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<std::uint8_t>(hi >> (8 * i));
    b[8 + i] = static_cast<std::uint8_t>(lo >> (8 * i));
  }
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3F) | 0x80);  // variant 10xx
  std::string s(36, '-');  // filled in place: this runs once per call
  std::size_t at = 0;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) ++at;  // the dash already there
    s[at++] = hex_digits[b[i] >> 4];
    s[at++] = hex_digits[b[i] & 0x0F];
  }
  return s;
}

std::string id_source::session_id() {
  std::string s = "gw-";
  for (int w = 0; w < 2; ++w) {
    std::uint64_t v = rng_();
    for (int i = 0; i < 12; ++i, v >>= 4) s.push_back(hex_digits[v & 0x0F]);
  }
  return s;
}

bool is_uuid_v4(std::string_view s) noexcept {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return s[14] == '4' && (s[19] == '8' || s[19] == '9' || s[19] == 'a' || s[19] == 'b');
}

}  // namespace exai::gateway::pool
