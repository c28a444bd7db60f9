// exai-bench: load generator and measurements for exai-gateway (issue 7). Parses the command line,
// runs one mode, prints one JSON report on stdout.
#include "bench/echo_server.hpp"
#include "bench/load.hpp"
#include "bench/options.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <sched.h>

#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <iostream>

namespace {

// Like boost::json::serialize, but doubles in plain decimal ("3678.2", not "3.6782E3") so the
// report reads well in a terminal; the values are already rounded where they were computed.
void write_json(std::string& out, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out += ',';
        first = false;
        out += boost::json::serialize(boost::json::value(kv.key()));
        out += ':';
        write_json(out, kv.value());
      }
      out += '}';
      break;
    }
    case boost::json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out += ',';
        first = false;
        write_json(out, e);
      }
      out += ']';
      break;
    }
    case boost::json::kind::double_: {
      double d = v.get_double();
      if (!std::isfinite(d)) {
        out += "null";
        break;
      }
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.3f", d);
      std::string s = buf;
      while (s.back() == '0') s.pop_back();
      if (s.back() == '.') s.pop_back();
      out += s;
      break;
    }
    default:
      out += boost::json::serialize(v);
  }
}

// Puts the generator in SCHED_BATCH when asked: it keeps its fair share of the CPU but no longer
// preempts the running process each time a reply wakes it. On two cores shared by the generator,
// the gateway and the daemon, those preemptions cost the processes under test a context switch
// and a cold cache per reply. Needs no privilege; on failure the run goes on in the normal class.
const char* apply_sched(bool batch) {
  if (!batch) return "normal";
  sched_param p{};
  p.sched_priority = 0;
  if (::sched_setscheduler(0, SCHED_BATCH, &p) != 0) {
    std::cerr << "exai-bench: SCHED_BATCH unavailable (" << std::strerror(errno)
              << "); running in the normal class\n";
    return "normal";
  }
  return "batch";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace exai::bench;
  std::signal(SIGPIPE, SIG_IGN);  // a peer that goes away is an error to count, not a crash
  auto parsed = parse_options(argc, argv);
  if (parsed.help) {
    std::cout << usage_text();
    return 0;
  }
  if (!parsed.opts) {
    std::cerr << "exai-bench: " << parsed.error << "\n\n" << usage_text();
    return 2;
  }
  const options& o = *parsed.opts;
  if (o.mode == mode::echo_server) return run_echo_server(o);

  const char* sched = apply_sched(o.sched_batch);
  run_result r = run_client(o);
  r.report["generator_sched"] = sched;
  std::string text;
  write_json(text, r.report);
  std::cout << text << std::endl;
  if (!o.out_file.empty()) std::ofstream(o.out_file) << text << "\n";
  int code = r.report.contains("error") ? 2 : (r.ok ? 0 : 1);
  if (r.hard_stop) {
    std::fflush(nullptr);
    std::_Exit(code);  // a coroutine never finished: do not wait on it in destructors
  }
  return code;
}
