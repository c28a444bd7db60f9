// Upstream identifiers (exai-op-protocol.md section 2 and hazard 2): a fresh random UUID for every
// request_id and a unique session_id per connection matching [A-Za-z0-9_-]{3,64}.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace exai::gateway::pool {

// Not thread-safe: one per pool, used on the pool's executor.
class id_source {
 public:
  id_source();                              // seeded from std::random_device
  explicit id_source(std::uint64_t seed);   // for tests

  // RFC 9562 version 4 (random) UUID, lower-case "xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx".
  std::string uuid_v4();
  // "gw-" + 24 random hex digits: unique per connection, so two connections never share (and
  // then destroy) one reference-daemon session.
  std::string session_id();

 private:
  std::mt19937_64 rng_;
};

bool is_uuid_v4(std::string_view s) noexcept;

}  // namespace exai::gateway::pool
