// Cached metric series for sessions and requests (gateway/gateway_metrics.hpp).
#include "gateway/gateway_metrics.hpp"

#include "observability/metric_names.hpp"

#include <mutex>
#include <string>
#include <unordered_map>

namespace exai::gateway::metrics {
namespace {

namespace names = obs::names;

// Client-chosen names (unknown methods and tools) must not grow the series without bound.
constexpr std::size_t max_request_series = 512;

obs::labels request_labels(std::string_view method, std::string_view tool,
                           std::string_view outcome) {
  return {{std::string(names::label_method), std::string(method)},
          {std::string(names::label_tool), std::string(tool)},
          {std::string(names::label_outcome), std::string(outcome)}};
}

request_series make_series(std::string_view method, std::string_view tool) {
  auto& reg = obs::metrics();
  auto c = [&](std::string_view outcome) {
    return &reg.get_counter(names::requests_total.name, names::requests_total.help,
                            request_labels(method, tool, outcome));
  };
  request_series s;
  s.ok = c(names::outcome_ok);
  s.error = c(names::outcome_error);
  s.timeout = c(names::outcome_timeout);
  s.cancelled = c(names::outcome_cancelled);
  s.duration = &reg.get_histogram(names::request_duration_seconds.name,
                                  names::request_duration_seconds.help,
                                  {{std::string(names::label_tool), std::string(tool)}});
  return s;
}

}  // namespace

const request_series& request(std::string_view method, std::string_view tool) {
  static std::mutex mu;
  static std::unordered_map<std::string, request_series> cache;
  std::string key;
  key.reserve(method.size() + tool.size() + 1);
  key.append(method).push_back('\0');
  key.append(tool);
  std::lock_guard lock(mu);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  if (cache.size() >= max_request_series) {
    key = std::string("(other)") + '\0' + "(other)";
    it = cache.find(key);
    if (it != cache.end()) return it->second;
    return cache.emplace(key, make_series("(other)", "(other)")).first->second;
  }
  return cache.emplace(std::move(key), make_series(method, tool)).first->second;
}

obs::gauge& inflight() {
  static obs::gauge& g =
      obs::metrics().get_gauge(names::inflight_requests.name, names::inflight_requests.help);
  return g;
}

obs::gauge& sessions(std::string_view transport, std::string_view dialect) {
  return obs::metrics().get_gauge(names::sessions.name, names::sessions.help,
                                  {{std::string(names::label_transport), std::string(transport)},
                                   {std::string(names::label_dialect), std::string(dialect)}});
}

obs::counter& timeouts() {
  static obs::counter& c =
      obs::metrics().get_counter(names::timeouts_total.name, names::timeouts_total.help);
  return c;
}

obs::counter& client_cancels() {
  static obs::counter& c = obs::metrics().get_counter(names::client_cancels_total.name,
                                                      names::client_cancels_total.help);
  return c;
}

obs::counter& bytes_in() {
  static obs::counter& c =
      obs::metrics().get_counter(names::bytes_in_total.name, names::bytes_in_total.help);
  return c;
}

obs::counter& bytes_out() {
  static obs::counter& c =
      obs::metrics().get_counter(names::bytes_out_total.name, names::bytes_out_total.help);
  return c;
}

namespace {
// The plain series exist from startup, at 0, so /metrics lists every name of metric_names.hpp
// before the first timeout or cancel (a counter that appears only when it first moves hides
// that event from rate() and from the dashboard). The registry is a leaked function-local
// static, safe to use during static initialization.
[[maybe_unused]] const bool registered_at_startup = [] {
  inflight();
  timeouts();
  client_cancels();
  bytes_in();
  bytes_out();
  return true;
}();
}  // namespace

}  // namespace exai::gateway::metrics
