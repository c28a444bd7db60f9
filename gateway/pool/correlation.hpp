// The correlation table of one upstream connection (house-style 7): upstream request_id
// -> the waiting call, states sent -> done | abandoned (the "queued" state lives in the pool's
// FIFO). Pure: it decides which entry a decoded daemon message belongs to and what it means; the
// connection acts on the verdict. W is the waiter handle (a shared_ptr in the pool, an int in
// tests).
//
// Serial mode (the reference daemon, exai-op-protocol.md hazards 1 and 4): messages without a
// request_id belong to the oldest unanswered request of the connection. Multiplexed mode
// (section 4): every message carries its id; one without is unknown.
#pragma once

#include "codecs/op.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace exai::gateway::pool {

enum class entry_state : std::uint8_t { sent, abandoned };

enum class verdict : std::uint8_t {
  result,        // the final reply of a live entry (call_tool_res, list_tools_res, error): erased
  progress,      // progress of a live entry: kept
  cancelled,     // the daemon says a live entry was cancelled: erased
  cancel_ack,    // `cancelled` for an entry we abandoned: erased, nothing to deliver
  late,          // a final reply for an abandoned entry: erased, counted, dropped
  unknown,       // a final reply nobody waits for (no such id): counted, dropped
  ignored,       // not a result: stream_complete, stream_chunk, call_tool_ack, pong, hello_ack,
                 // progress for an abandoned/unknown entry, `cancelled` for an unknown id
};

template <class W>
class correlation_table {
 public:
  using clock = std::chrono::steady_clock;

  struct entry {
    W waiter;
    entry_state state = entry_state::sent;
    std::uint64_t seq = 0;            // send order, for "the oldest unanswered request"
    clock::time_point abandoned_at{};
  };

  struct routed {
    verdict what = verdict::ignored;
    std::string id;                   // the entry's id when one was found
    std::optional<W> waiter;          // for result / progress / cancelled
  };

  explicit correlation_table(bool serial = false) : serial_(serial) {}

  void set_serial(bool serial) { serial_ = serial; }
  bool serial() const { return serial_; }

  // A request was handed to the writer under this fresh id.
  void add(std::string id, W waiter) {
    entry e{std::move(waiter), entry_state::sent, next_seq_++, {}};
    entries_.insert_or_assign(std::move(id), std::move(e));
    ++live_;
  }

  // The caller gave up (cancel, deadline): the entry stays until its reply, `cancelled`, or
  // expiry, so the connection's load stays honest and the late reply is recognised.
  bool abandon(std::string_view id, clock::time_point now) {
    auto it = entries_.find(std::string(id));
    if (it == entries_.end() || it->second.state == entry_state::abandoned) return false;
    it->second.state = entry_state::abandoned;
    it->second.abandoned_at = now;
    --live_;
    return true;
  }

  bool erase(std::string_view id) {
    auto it = entries_.find(std::string(id));
    if (it == entries_.end()) return false;
    if (it->second.state == entry_state::sent) --live_;
    entries_.erase(it);
    return true;
  }

  std::size_t size() const { return entries_.size(); }  // the connection's load
  std::size_t live() const { return live_; }
  std::size_t abandoned() const { return entries_.size() - live_; }
  bool empty() const { return entries_.empty(); }
  const entry* find(std::string_view id) const {
    auto it = entries_.find(std::string(id));
    return it == entries_.end() ? nullptr : &it->second;
  }

  // The oldest entry (lowest send order), live or abandoned.
  std::optional<std::pair<std::string, const entry*>> oldest() const {
    const std::pair<const std::string, entry>* best = nullptr;
    for (const auto& kv : entries_)
      if (!best || kv.second.seq < best->second.seq) best = &kv;
    if (!best) return std::nullopt;
    return std::make_pair(best->first, &best->second);
  }

  // Decides what a decoded daemon message means for this connection, and updates the table.
  routed route(const codecs::op::server_message& m) {
    return std::visit([this](const auto& msg) { return route_one(msg); }, m);
  }

  // Connection lost: every live waiter, in send order; the table is cleared (abandoned entries
  // are simply forgotten: nobody waits for them).
  std::vector<W> take_all_live() {
    std::vector<std::pair<std::uint64_t, W>> v;
    for (auto& kv : entries_)
      if (kv.second.state == entry_state::sent) v.emplace_back(kv.second.seq, std::move(kv.second.waiter));
    entries_.clear();
    live_ = 0;
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<W> out;
    out.reserve(v.size());
    for (auto& p : v) out.push_back(std::move(p.second));
    return out;
  }

  // Ids of entries abandoned at or before now - timeout.
  std::vector<std::string> expired(clock::time_point now, clock::duration timeout) const {
    std::vector<std::string> out;
    for (const auto& kv : entries_)
      if (kv.second.state == entry_state::abandoned && kv.second.abandoned_at + timeout <= now)
        out.push_back(kv.first);
    return out;
  }

 private:
  using map = std::unordered_map<std::string, entry>;

  // The entry a message belongs to: by id when it has one; without one, the oldest entry in
  // serial mode (hazard 4) and none in multiplexed mode.
  typename map::iterator locate(const std::optional<std::string>& id) {
    if (id) return entries_.find(*id);
    if (!serial_ || entries_.empty()) return entries_.end();
    auto best = entries_.begin();
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
      if (it->second.seq < best->second.seq) best = it;
    return best;
  }

  routed finish(const std::optional<std::string>& id, bool cancelled_msg) {
    auto it = locate(id);
    if (it == entries_.end())
      return routed{cancelled_msg ? verdict::ignored : verdict::unknown, id.value_or(""), std::nullopt};
    routed r;
    r.id = it->first;
    if (it->second.state == entry_state::abandoned) {
      r.what = cancelled_msg ? verdict::cancel_ack : verdict::late;
    } else {
      r.what = cancelled_msg ? verdict::cancelled : verdict::result;
      r.waiter = std::move(it->second.waiter);
      --live_;
    }
    entries_.erase(it);
    return r;
  }

  routed route_one(const codecs::op::call_tool_res& m) { return finish(m.request_id, false); }
  routed route_one(const codecs::op::list_tools_res& m) { return finish(m.request_id, false); }
  routed route_one(const codecs::op::error_msg& m) { return finish(m.request_id, false); }
  routed route_one(const codecs::op::cancelled& m) { return finish(m.request_id, true); }
  routed route_one(const codecs::op::progress& m) {
    auto it = locate(m.request_id);
    if (it == entries_.end() || it->second.state != entry_state::sent)
      return routed{verdict::ignored, m.request_id.value_or(""), std::nullopt};
    return routed{verdict::progress, it->first, it->second.waiter};
  }
  // Not results (exai-op-protocol.md section 3): stream_complete comes before the real result,
  // call_tool_ack.timeout extends nothing beyond our own deadline, chunks are not collected.
  template <class Other>
  routed route_one(const Other&) {
    return routed{verdict::ignored, {}, std::nullopt};
  }

  map entries_;
  std::size_t live_ = 0;
  std::uint64_t next_seq_ = 0;
  bool serial_;
};

}  // namespace exai::gateway::pool
