// Sessions by id, with expiry: the place a transport finds the session a frame belongs to. An id
// is handed out by the registry (open: 128 random bits, unguessable, for ids a client presents
// such as Mcp-Session-Id) or is the session's own (add: transports whose connection is the
// session). A session unused for longer than the idle expiry is no longer found and is handed back
// by expire() for its owner to end. Not thread-safe: use it on one executor.
#pragma once

#include "gateway/session.hpp"

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace exai::gateway {

class session_registry {
 public:
  using clock = std::chrono::steady_clock;

  // milliseconds::max(): sessions never expire.
  explicit session_registry(std::chrono::milliseconds idle_expiry = std::chrono::milliseconds::max());

  // Registers `s` under a new id and returns it (32 lowercase hex digits).
  std::string open(std::shared_ptr<session> s, clock::time_point now);
  // Registers `s` under `id`; false (and nothing changes) when the id is taken.
  bool add(std::string id, std::shared_ptr<session> s, clock::time_point now);

  // The session, its last use set to `now`; nullptr when unknown or idle past the expiry.
  std::shared_ptr<session> find(std::string_view id, clock::time_point now);
  // Removes the id; returns its session (nullptr when unknown).
  std::shared_ptr<session> close(std::string_view id);
  // Removes and returns every session idle past the expiry at `now`.
  std::vector<std::shared_ptr<session>> expire(clock::time_point now);

  std::vector<std::shared_ptr<session>> all() const;
  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }

 private:
  struct entry {
    std::shared_ptr<session> s;
    clock::time_point last_used;
  };
  bool expired(const entry& e, clock::time_point now) const noexcept;

  std::chrono::milliseconds idle_expiry_;
  std::map<std::string, entry, std::less<>> entries_;
};

}  // namespace exai::gateway
