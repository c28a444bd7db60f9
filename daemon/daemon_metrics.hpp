// The daemon's series in the process metrics registry (names from observability/metric_names.hpp),
// looked up once and cached: updates on the request path are lock-free.
#pragma once

#include "observability/metrics.hpp"

#include <string>
#include <string_view>

namespace exai::daemon {

struct daemon_metrics {
  obs::gauge& inflight;
  obs::gauge& sessions;
  obs::counter& timeouts;
  obs::counter& client_cancels;
  obs::counter& bytes_in;
  obs::counter& bytes_out;

  // {method, tool, outcome}; `tool` must be a registered tool name or "" (bounded cardinality).
  obs::counter& requests(std::string_view method, std::string_view tool, std::string_view outcome);
  obs::histogram& duration(std::string_view tool);
};

// The process-wide instance (call from the io thread).
daemon_metrics& metrics();

}  // namespace exai::daemon
