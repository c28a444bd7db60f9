// Pure decisions of the daemon pool (see policy.hpp); no I/O, no clock.
#include "gateway/pool/policy.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <string>

namespace exai::gateway::pool {

mode_decision decide_mode(const codecs::op::hello_ack& ack, std::uint32_t default_inflight) noexcept {
  mode_decision d;
  if (!ack.caps || !ack.caps->multiplex) {
    // Serial: whatever else was granted, one message at a time is all the connection can do.
    d.progress = ack.caps && ack.caps->progress;
    return d;
  }
  d.mode = conn_mode::multiplexed;
  std::uint32_t n = ack.caps->max_inflight.value_or(default_inflight);
  d.max_inflight = std::max<std::uint32_t>(n, 1);
  d.cancel = ack.caps->cancel;
  d.progress = ack.caps->progress;
  return d;
}

std::optional<std::size_t> pick_connection(std::span<const conn_view> conns, std::size_t start) noexcept {
  const std::size_t n = conns.size();
  std::optional<std::size_t> best;
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = (start + k) % n;
    const conn_view& c = conns[i];
    if (!c.ready || c.load >= c.capacity) continue;
    if (!best || c.load < conns[*best].load) best = i;
    if (c.load == 0) break;  // cannot do better
  }
  return best;
}

admission admit(bool have_connection, std::size_t queued, std::size_t queue_limit) noexcept {
  if (have_connection) return admission::dispatch;
  return queued < queue_limit ? admission::enqueue : admission::reject;
}

std::size_t serial_growth(const endpoint_view& ep, std::size_t waiting) noexcept {
  if (!ep.serial || ep.open >= ep.cap) return 0;
  // Connections already on their way (and idle ones the queue is about to use) cover part of
  // the demand; open only the rest, within the cap.
  const std::size_t covered = ep.connecting + ep.idle;
  if (waiting <= covered) return 0;
  return std::min(waiting - covered, ep.cap - ep.open);
}

refusal_decision on_refused(std::size_t other_open, std::size_t cap) noexcept {
  if (other_open == 0) return {false, cap};
  return {true, std::min(cap, other_open)};
}

housekeeping housekeeping_action(conn_mode mode, std::size_t expired_abandoned) noexcept {
  if (expired_abandoned == 0) return housekeeping::nothing;
  return mode == conn_mode::serial ? housekeeping::close_connection : housekeeping::drop_expired;
}

namespace {
codecs::error daemon_error(codecs::errc code, const char* ours, const codecs::op::wire_error& e) {
  codecs::error err(code, ours);
  err.upstream_code = e.code;
  // The daemon's own words travel apart from ours (house-style 10).
  boost::json::object up;
  up["code"] = e.code;
  up["message"] = e.message;
  if (e.details) up["details"] = *e.details;
  boost::json::object data;
  data["upstream"] = std::move(up);
  err.data = boost::json::value(std::move(data));
  return err;
}
}  // namespace

codecs::result<codecs::tool_result> call_outcome(const codecs::op::wire_error& e) {
  switch (codecs::from_op_code(e.code)) {
    case codecs::errc::tool_not_found:
      return daemon_error(codecs::errc::tool_not_found, "the daemon does not know this tool", e);
    case codecs::errc::invalid_params: {
      // The field detail the embedded backend gives: the daemon's message, bounded.
      auto err = daemon_error(codecs::errc::invalid_params, "the daemon rejected the tool arguments", e);
      if (!e.message.empty()) err.message += ": " + codecs::excerpt(e.message, 512);
      return err;
    }
    case codecs::errc::over_capacity:
      return daemon_error(codecs::errc::over_capacity,
                          "OVER_CAPACITY: the daemon is over capacity; try again later", e);
    default:
      return codecs::op::to_tool_result(e);
  }
}

codecs::result<codecs::tool_result> call_outcome(const codecs::op::call_tool_res& r) {
  if (r.error) return call_outcome(*r.error);
  return codecs::op::to_tool_result(r);
}

codecs::result<codecs::tool_result> call_outcome(codecs::op::call_tool_res&& r) {
  if (r.error) return call_outcome(*r.error);
  return codecs::op::to_tool_result(std::move(r));
}

bool is_reference_failure_document(const codecs::tool_result& r) noexcept {
  constexpr std::size_t max_scan = 1u << 20;  // a failure report is small; do not parse big outputs
  for (const auto& block : r.content) {
    const auto* o = block.if_object();
    if (!o) continue;
    const auto* type = o->if_contains("type");
    const auto* text = o->if_contains("text");
    if (!type || !type->is_string() || type->get_string() != "text" || !text || !text->is_string()) continue;
    std::string_view t = text->get_string();
    const auto first = t.find_first_not_of(" \t\r\n");
    if (t.size() > max_scan || first == std::string_view::npos || t[first] != '{') return false;
    boost::system::error_code ec;
    boost::json::value v;
    try {
      v = boost::json::parse(t, ec);
    } catch (...) {
      return false;
    }
    if (ec || !v.is_object()) return false;
    const auto* status = v.get_object().if_contains("status");
    if (!status || !status->is_string()) return false;
    std::string_view s = status->get_string();
    constexpr std::string_view suffix = "_failed";
    return s == "error" || (s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix);
  }
  return false;
}

}  // namespace exai::gateway::pool
