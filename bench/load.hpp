// exai-bench's client modes (mcp-ws, mcp-stdio, op, raw, cancel, idle): one io_context on one
// thread drives every connection; the result is the JSON report main prints.
#pragma once

#include "bench/options.hpp"

#include <boost/json/object.hpp>

namespace exai::bench {

struct run_result {
  boost::json::object report;
  bool ok = false;          // no errors and at least one answer (or, idle: every session held)
  bool hard_stop = false;   // something did not finish in bounded time; exit without cleanup
};

run_result run_client(const options& opts);

}  // namespace exai::bench
