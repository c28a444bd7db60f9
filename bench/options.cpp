// Parses exai-bench's command line (see usage_text) into bench::options.
#include "bench/options.hpp"

#include <boost/json/parse.hpp>

#include <charconv>
#include <cstdlib>
#include <string_view>

namespace exai::bench {

const char* usage_text() {
  return R"(exai-bench MODE [options] [-- COMMAND ARGS...]

Modes:
  mcp-ws       MCP JSON-RPC over WebSocket (--url): initialize, then tools/call
  mcp-http     MCP Streamable HTTP (--url http://HOST:PORT/mcp): one POST per call, keep-alive
  mcp-stdio    MCP over stdio: spawns COMMAND (after --), one JSON message per line
  op           op protocol straight to a daemon (--url): hello (multiplex), then call_tool
  raw          raw text frames to a WebSocket echo server (--url): the machine's ceiling
  echo-server  a trivial WebSocket echo server (--listen, --ready-file), until SIGINT/SIGTERM
  cancel       N MCP `delay` calls (--requests), each cancelled mid-flight; checks that no answer
               arrives and that the gateway's in-flight count returns to 0 (--metrics-url)
  idle         N idle MCP WebSocket sessions (--connections) held for --duration seconds

Options:
  --url ws://HOST:PORT[/PATH]  target (mcp-ws, op, raw, cancel, idle); http://HOST:PORT/PATH for
                               mcp-http, and for idle (each session then holds its GET stream)
  --connections N              connections (default 1)
  --inflight N                 requests in flight per connection (default 1)
  --duration S                 measured seconds (default 5); idle: seconds to hold
  --requests N                 measure N requests instead of a duration; cancel: calls to cancel
  --warmup S                   unmeasured seconds before (default 1)
  --drain S                    wait for outstanding answers after the window (default 5)
  --tool NAME                  tool to call (default echo)
  --args JSON                  tool arguments (object); echo's text is generated per request
                               unless given here
  --payload-bytes N            length of echo's text / raw frames (default 64)
  --subprotocol P              WebSocket subprotocol offered (default "mcp" for MCP modes)
  --target-pid PID             report this process's peak RSS and CPU seconds
  --peer-pid PID               also report another process's (e.g. the daemon behind a gateway)
  --child-stderr FILE          mcp-stdio: the child's stderr goes to FILE
  --connect-concurrency N      handshakes in progress at once (default 200)
  --sched batch|normal         the generator's scheduling class (default batch: SCHED_BATCH, so
                               that its wakeups do not preempt the processes it measures; a
                               spawned mcp-stdio child runs in the normal class either way)
  --name NAME                  scenario name copied into the report
  --out FILE                   also write the JSON report to FILE
  cancel mode: --delay-ms N (default cancel-after + wait + 3000), --cancel-after-ms N (300),
               --wait-ms N (1000), --settle-ms N (5000), --metrics-url http://HOST:PORT/metrics,
               --status-check (read in-flight through the `status` tool too)
  mcp-ws hostile clients, beside the measured load: --hostile-readers N (send --hostile-calls
               C `blob` calls of --hostile-bytes B each, never read; 4 KB receive buffer),
               --batch-clients N (2025-03-26 sessions sending --batch-size S pings per batch)
  echo-server: --listen HOST:PORT (default 127.0.0.1:0), --ready-file FILE ({"ws":"HOST:PORT"})

Every answer is checked against its request (id, and echo's text); a wrong or missing answer is
an error. Prints one JSON object; exits 1 when there were errors or no answers, 2 on bad usage.
The environment's EXAI_GATEWAY_TOKEN (MCP, as a Bearer token) and EXAI_WS_TOKEN (op hello) are sent
when set.
)";
}

const char* mode_name(mode m) {
  switch (m) {
    case mode::mcp_ws: return "mcp-ws";
    case mode::mcp_http: return "mcp-http";
    case mode::mcp_stdio: return "mcp-stdio";
    case mode::op: return "op";
    case mode::raw: return "raw";
    case mode::echo_server: return "echo-server";
    case mode::cancel: return "cancel";
    case mode::idle: return "idle";
  }
  return "?";
}

namespace {

bool to_unsigned(std::string_view s, std::uint64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

bool to_double(const std::string& s, double& out) {
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return !s.empty() && end == s.c_str() + s.size() && out >= 0;
}

}  // namespace

parse_outcome parse_options(int argc, const char* const* argv) {
  parse_outcome r;
  options o;
  if (argc < 2) {
    r.error = "missing MODE";
    return r;
  }
  std::string_view m = argv[1];
  if (m == "--help" || m == "-h") {
    r.help = true;
    return r;
  }
  if (m == "mcp-ws") o.mode = mode::mcp_ws;
  else if (m == "mcp-http") o.mode = mode::mcp_http;
  else if (m == "mcp-stdio") o.mode = mode::mcp_stdio;
  else if (m == "op") o.mode = mode::op;
  else if (m == "raw") o.mode = mode::raw;
  else if (m == "echo-server") o.mode = mode::echo_server;
  else if (m == "cancel") o.mode = mode::cancel;
  else if (m == "idle") o.mode = mode::idle;
  else {
    r.error = "unknown mode '" + std::string(m) + "'";
    return r;
  }
  bool subprotocol_set = false;
  for (int i = 2; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") {
      for (int j = i + 1; j < argc; ++j) o.command.emplace_back(argv[j]);
      break;
    }
    if (a == "--help" || a == "-h") {
      r.help = true;
      return r;
    }
    if (a == "--status-check") {
      o.status_check = true;
      continue;
    }
    if (i + 1 >= argc) {
      r.error = "option " + std::string(a) + " needs a value";
      return r;
    }
    std::string v = argv[++i];
    std::uint64_t n = 0;
    double d = 0;
    auto need_uint = [&](auto& field, std::uint64_t lo) {
      if (!to_unsigned(v, n) || n < lo) {
        r.error = "option " + std::string(a) + ": expected an integer >= " + std::to_string(lo);
        return false;
      }
      field = static_cast<std::remove_reference_t<decltype(field)>>(n);
      return true;
    };
    auto need_double = [&](double& field) {
      if (!to_double(v, d)) {
        r.error = "option " + std::string(a) + ": expected a non-negative number";
        return false;
      }
      field = d;
      return true;
    };
    bool ok = true;
    if (a == "--url") o.url = v;
    else if (a == "--name") o.name = v;
    else if (a == "--connections") ok = need_uint(o.connections, 1);
    else if (a == "--inflight") ok = need_uint(o.inflight, 1);
    else if (a == "--duration") { ok = need_double(o.duration_s); o.duration_set = true; }
    else if (a == "--requests") ok = need_uint(o.requests, 1);
    else if (a == "--warmup") ok = need_double(o.warmup_s);
    else if (a == "--drain") ok = need_double(o.drain_s);
    else if (a == "--tool") o.tool = v;
    else if (a == "--payload-bytes") ok = need_uint(o.payload_bytes, 0);
    else if (a == "--subprotocol") { o.subprotocol = v; subprotocol_set = true; }
    else if (a == "--target-pid") ok = need_uint(o.target_pid, 1);
    else if (a == "--peer-pid") ok = need_uint(o.peer_pid, 1);
    else if (a == "--child-stderr") o.child_stderr = v;
    else if (a == "--connect-concurrency") ok = need_uint(o.connect_concurrency, 1);
    else if (a == "--out") o.out_file = v;
    else if (a == "--delay-ms") ok = need_uint(o.delay_ms, 1);
    else if (a == "--cancel-after-ms") ok = need_uint(o.cancel_after_ms, 0);
    else if (a == "--wait-ms") ok = need_uint(o.wait_ms, 0);
    else if (a == "--settle-ms") ok = need_uint(o.settle_ms, 0);
    else if (a == "--metrics-url") o.metrics_url = v;
    else if (a == "--hostile-readers") ok = need_uint(o.hostile_readers, 0);
    else if (a == "--hostile-calls") ok = need_uint(o.hostile_calls, 1);
    else if (a == "--hostile-bytes") ok = need_uint(o.hostile_bytes, 1);
    else if (a == "--batch-clients") ok = need_uint(o.batch_clients, 0);
    else if (a == "--batch-size") ok = need_uint(o.batch_size, 1);
    else if (a == "--sched") {
      if (v != "batch" && v != "normal") {
        r.error = "--sched: expected batch or normal";
        return r;
      }
      o.sched_batch = v == "batch";
    } else if (a == "--listen") o.listen = v;
    else if (a == "--ready-file") o.ready_file = v;
    else if (a == "--args") {
      boost::system::error_code ec;
      auto parsed = boost::json::parse(v, ec);
      if (ec || !parsed.is_object()) {
        r.error = "--args: expected a JSON object";
        return r;
      }
      o.args = std::move(parsed.as_object());
    } else {
      r.error = "unknown option " + std::string(a);
      return r;
    }
    if (!ok) return r;
  }
  o.args_has_text = o.args.contains("text");
  if (!subprotocol_set &&
      (o.mode == mode::mcp_ws || o.mode == mode::cancel || o.mode == mode::idle))
    o.subprotocol = "mcp";
  if (o.mode == mode::mcp_stdio) {
    if (o.command.empty()) {
      r.error = "mcp-stdio needs the command after --";
      return r;
    }
    if (o.connections != 1) {
      r.error = "mcp-stdio drives one child process: use --inflight for concurrency";
      return r;
    }
  } else if (o.mode != mode::echo_server && o.url.empty()) {
    r.error = std::string(mode_name(o.mode)) + " needs --url";
    return r;
  }
  if (o.mode == mode::cancel) {
    if (o.requests == 0) o.requests = 1000;
    if (o.tool == "echo") o.tool = "delay";
    if (o.delay_ms == 0) o.delay_ms = o.cancel_after_ms + o.wait_ms + 3000;
    if (o.tool == "delay" && !o.args.contains("ms")) o.args["ms"] = o.delay_ms;
  }
  r.opts = std::move(o);
  return r;
}

}  // namespace exai::bench
