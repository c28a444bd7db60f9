// Sessions by id with idle expiry (gateway/session_registry.hpp).
#include "gateway/session_registry.hpp"

#include <cstdint>
#include <random>

namespace exai::gateway {

session_registry::session_registry(std::chrono::milliseconds idle_expiry)
    : idle_expiry_(idle_expiry) {}

bool session_registry::expired(const entry& e, clock::time_point now) const noexcept {
  if (idle_expiry_ == std::chrono::milliseconds::max()) return false;
  return now - e.last_used > idle_expiry_;
}

std::string session_registry::open(std::shared_ptr<session> s, clock::time_point now) {
  static constexpr char digits[] = "0123456789abcdef";
  std::random_device rd;  // the kernel's CSPRNG on Linux
  for (;;) {
    std::string id;
    id.reserve(32);
    for (int i = 0; i < 4; ++i) {
      std::uint32_t v = rd();
      for (int j = 0; j < 8; ++j) {
        id += digits[v & 0xf];
        v >>= 4;
      }
    }
    if (add(id, s, now)) return id;
  }
}

bool session_registry::add(std::string id, std::shared_ptr<session> s, clock::time_point now) {
  return entries_.try_emplace(std::move(id), entry{std::move(s), now}).second;
}

std::shared_ptr<session> session_registry::find(std::string_view id, clock::time_point now) {
  auto it = entries_.find(id);
  if (it == entries_.end() || expired(it->second, now)) return nullptr;
  it->second.last_used = now;
  return it->second.s;
}

std::shared_ptr<session> session_registry::close(std::string_view id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return nullptr;
  auto s = std::move(it->second.s);
  entries_.erase(it);
  return s;
}

std::vector<std::shared_ptr<session>> session_registry::expire(clock::time_point now) {
  std::vector<std::shared_ptr<session>> out;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (expired(it->second, now)) {
      out.push_back(std::move(it->second.s));
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

std::vector<std::shared_ptr<session>> session_registry::all() const {
  std::vector<std::shared_ptr<session>> out;
  out.reserve(entries_.size());
  for (const auto& [id, e] : entries_) out.push_back(e.s);
  return out;
}

}  // namespace exai::gateway
