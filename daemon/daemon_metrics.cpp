// Registers and caches the daemon's metric series (issue 6 names) so the request path only
// touches atomics after the first use of each label set.
#include "daemon/daemon_metrics.hpp"

#include "observability/metric_names.hpp"

#include <map>
#include <mutex>
#include <tuple>

namespace exai::daemon {

namespace names = obs::names;

namespace {

std::mutex cache_mu;  // the admin server may render from another thread; lookups are rare
std::map<std::tuple<std::string, std::string, std::string>, obs::counter*, std::less<>> request_cache;
std::map<std::string, obs::histogram*, std::less<>> duration_cache;

}  // namespace

obs::counter& daemon_metrics::requests(std::string_view method, std::string_view tool,
                                       std::string_view outcome) {
  std::lock_guard lk(cache_mu);
  auto key = std::make_tuple(std::string(method), std::string(tool), std::string(outcome));
  auto it = request_cache.find(key);
  if (it != request_cache.end()) return *it->second;
  auto& c = obs::metrics().get_counter(
      names::requests_total.name, names::requests_total.help,
      {{std::string(names::label_method), std::string(method)},
       {std::string(names::label_tool), std::string(tool)},
       {std::string(names::label_outcome), std::string(outcome)}});
  request_cache.emplace(std::move(key), &c);
  return c;
}

obs::histogram& daemon_metrics::duration(std::string_view tool) {
  std::lock_guard lk(cache_mu);
  auto it = duration_cache.find(tool);
  if (it != duration_cache.end()) return *it->second;
  auto& h = obs::metrics().get_histogram(names::request_duration_seconds.name,
                                         names::request_duration_seconds.help,
                                         {{std::string(names::label_tool), std::string(tool)}});
  duration_cache.emplace(std::string(tool), &h);
  return h;
}

daemon_metrics& metrics() {
  static daemon_metrics m{
      obs::metrics().get_gauge(names::inflight_requests.name, names::inflight_requests.help),
      obs::metrics().get_gauge(names::sessions.name, names::sessions.help,
                               {{std::string(names::label_transport), "ws"},
                                {std::string(names::label_dialect), "op"}}),
      obs::metrics().get_counter(names::timeouts_total.name, names::timeouts_total.help),
      obs::metrics().get_counter(names::client_cancels_total.name, names::client_cancels_total.help),
      obs::metrics().get_counter(names::bytes_in_total.name, names::bytes_in_total.help),
      obs::metrics().get_counter(names::bytes_out_total.name, names::bytes_out_total.help),
  };
  return m;
}

}  // namespace exai::daemon
