// Conversation memory (exai-tools-reference §3): threads named by a UUID `continuation_id`, each a
// list of turns replayed to the model as native messages, plus a JSON object a tool may keep its
// own per-thread state in (the workflow tools keep their steps and findings there, never on a
// shared object). Bounded: a turn limit per thread, a TTL refreshed on each update, and a total
// byte budget enforced by evicting the threads updated longest ago. Thread-safe.
#pragma once

#include "codecs/error.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace exai::daemon::models {

enum class turn_role : unsigned char { user, assistant };

struct turn {
  turn_role role = turn_role::user;
  std::string content;              // exactly what the model was sent (user) or answered (assistant)
  std::vector<std::string> files;   // paths embedded in this turn (user turns)
  std::string tool_name;            // the tool that made the turn
  std::string provider;             // assistant turns: who answered
  std::string model;
};

// A copy of one thread, taken under the store's lock.
struct thread_view {
  std::string id;
  std::string tool_name;            // the tool that opened the thread
  std::vector<turn> turns;          // oldest first
  boost::json::object state;        // per-thread tool state (see conversation_store::update)
  std::size_t exchanges = 0;        // user+assistant pairs recorded
};

class conversation_store {
 public:
  using clock = std::chrono::steady_clock;

  struct options {
    std::size_t max_exchanges = 20;                  // per thread (§3: MAX_CONVERSATION_TURNS)
    std::chrono::milliseconds ttl = std::chrono::hours(3);  // from the last update
    std::size_t max_bytes = 64u * 1024 * 1024;       // all threads together
    std::size_t max_threads = 100'000;
    std::function<clock::time_point()> now;          // tests inject a clock; default steady_clock
  };

  conversation_store();
  explicit conversation_store(options opts);
  ~conversation_store();
  conversation_store(const conversation_store&) = delete;
  conversation_store& operator=(const conversation_store&) = delete;

  // Opens a thread and returns its id (a random UUID, version 4).
  std::string create(std::string_view tool_name, boost::json::object state = {});

  // A copy of the thread, or nullopt when unknown or expired. Reading does not extend the TTL.
  std::optional<thread_view> get(std::string_view id);

  // Appends one exchange (the request and the model's answer) at once, so two calls continuing
  // the same thread concurrently never interleave halves. errc::not_found when the thread is
  // unknown or expired, errc::over_capacity when it already holds max_exchanges, or when the
  // exchange alone is larger than the whole byte budget.
  codecs::result<void> add_exchange(std::string_view id, turn request, turn answer);

  // Runs `fn` on the thread's state under the store's lock (a read-modify-write that concurrent
  // calls cannot interleave) and refreshes the TTL. `fn` must not call back into the store.
  // errc::invalid_params when the thread is unknown or expired; fn's error is returned as is.
  codecs::result<void> update(std::string_view id,
                              const std::function<codecs::result<void>(boost::json::object&)>& fn);

  // Exchanges still allowed on the thread (0 when unknown).
  std::size_t remaining_exchanges(std::string_view id);

  struct counters {
    std::size_t threads = 0, bytes = 0, evicted = 0, expired = 0;
  };
  counters stats() const;
  const options& limits() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" from the operating system's random source.
std::string make_uuid();

}  // namespace exai::daemon::models
