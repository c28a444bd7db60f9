// The gateway's series of the metrics in observability/metric_names.hpp, looked up once and
// cached (the registry lookup takes a lock; updates do not).
#pragma once

#include "observability/metrics.hpp"

#include <string_view>

namespace exai::gateway::metrics {

struct request_series {
  obs::counter* ok = nullptr;
  obs::counter* error = nullptr;
  obs::counter* timeout = nullptr;
  obs::counter* cancelled = nullptr;
  obs::histogram* duration = nullptr;  // by tool
};

// method: the name as the client sent it ("tools/call", "call_tool", ...). Thread-safe. The
// number of distinct (method, tool) pairs is capped: beyond it they share "(other)".
const request_series& request(std::string_view method, std::string_view tool);

obs::gauge& inflight();
obs::gauge& sessions(std::string_view transport, std::string_view dialect);
obs::counter& timeouts();
obs::counter& client_cancels();
obs::counter& bytes_in();
obs::counter& bytes_out();

}  // namespace exai::gateway::metrics
