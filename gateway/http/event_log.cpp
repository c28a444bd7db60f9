// SSE framing and the per-session replay record (gateway/http/event_log.hpp).
#include "gateway/http/event_log.hpp"

#include "codecs/sse.hpp"

#include <charconv>

namespace exai::gateway::http {

std::string sse_message(std::string_view json, std::string_view id) {
  codecs::sse_event e;
  e.event = "message";
  e.data = std::string(json);
  e.id = std::string(id);
  return codecs::sse_encode(e);
}

std::string sse_endpoint(std::string_view uri) {
  codecs::sse_event e;
  e.event = "endpoint";
  e.data = std::string(uri);
  return codecs::sse_encode(e);
}

std::string sse_keepalive() { return codecs::sse_comment("keep-alive"); }

event_log::event_log(std::size_t max_events, std::size_t max_bytes)
    : max_events_(max_events == 0 ? 1 : max_events), max_bytes_(max_bytes) {}

std::string event_log::append(std::string_view json) {
  const std::uint64_t id = next_id_++;
  std::string wire = sse_message(json, std::to_string(id));
  bytes_ += wire.size();
  events_.push_back(entry{id, wire});
  // The newest event is always kept, even alone over max_bytes: it is the one being sent.
  while (events_.size() > 1 && (events_.size() > max_events_ || bytes_ > max_bytes_)) {
    bytes_ -= events_.front().wire.size();
    events_.pop_front();
  }
  return wire;
}

std::optional<std::vector<std::string>> event_log::replay_after(
    std::string_view last_event_id) const {
  std::uint64_t last = 0;
  const auto* end = last_event_id.data() + last_event_id.size();
  auto [p, ec] = std::from_chars(last_event_id.data(), end, last);
  if (ec != std::errc() || p != end || last_event_id.empty() || last >= next_id_) {
    return std::nullopt;
  }
  // Everything after `last` must still be here: the oldest kept id is at most last + 1.
  if (last + 1 < next_id_ && (events_.empty() || events_.front().id > last + 1)) {
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const auto& e : events_) {
    if (e.id > last) out.push_back(e.wire);
  }
  return out;
}

}  // namespace exai::gateway::http
