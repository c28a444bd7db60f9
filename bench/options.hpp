// exai-bench's command line: one mode and its options, parsed once into a plain struct.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace exai::bench {

enum class mode { mcp_ws, mcp_http, mcp_stdio, op, raw, echo_server, cancel, idle };

struct options {
  bench::mode mode = mode::mcp_ws;
  std::string name;  // scenario name copied into the output

  // Where to send load.
  std::string url;                    // ws://HOST:PORT[/path] for mcp-ws, op, raw, cancel, idle
  std::vector<std::string> command;   // after "--" for mcp-stdio
  std::string subprotocol;            // offered on the upgrade; "mcp" by default for MCP modes
  std::string child_stderr;           // mcp-stdio: child's stderr goes here (default: inherited)

  // Shape of the load.
  unsigned connections = 1;
  unsigned inflight = 1;              // per connection
  double duration_s = 5;              // measured window (idle: how long to hold)
  bool duration_set = false;          // echo-server: stop after duration_s only when given
  std::uint64_t requests = 0;         // when > 0: a request count instead of a duration
  double warmup_s = 1;
  double drain_s = 5;                 // how long to wait for answers after the window
  std::string tool = "echo";
  boost::json::object args;           // tool arguments; echo's "text" is generated per request
  bool args_has_text = false;
  std::size_t payload_bytes = 64;     // length of echo's text / raw frames
  unsigned connect_concurrency = 200; // handshakes in progress at once

  // Measurements of the target.
  int target_pid = 0;
  int peer_pid = 0;                   // a second process of the same path (the daemon behind a
                                      // gateway, supergateway's stdio server): its CPU and RSS too

  // cancel mode.
  unsigned delay_ms = 0;              // 0: cancel_after + wait + 3000
  unsigned cancel_after_ms = 300;     // calls in flight this long before the cancels go out
  unsigned wait_ms = 1000;            // window in which no answer may arrive for them
  unsigned settle_ms = 5000;          // in-flight count must be back to 0 within this
  std::string metrics_url;            // http://HOST:PORT/metrics (gateway admin)
  bool status_check = false;          // also read in-flight through the `status` tool

  // mcp-ws: hostile clients beside the measured load (issue 14, the `hostile` bench row).
  unsigned hostile_readers = 0;       // clients that send calls and never read (4 KB receive buffer)
  unsigned hostile_calls = 64;        // calls each of them sends
  std::uint64_t hostile_bytes = 8u << 20;  // the `blob` size each call asks for
  unsigned batch_clients = 0;         // clients sending JSON-RPC batches (2025-03-26), reading
  unsigned batch_size = 256;          // elements per batch (the gateway's default cap)

  // echo-server mode.
  std::string listen = "127.0.0.1:0";
  std::string ready_file;

  std::string out_file;               // also write the JSON report here

  // The load generator's scheduling class (client modes; echo-server is a target and keeps its
  // own). batch: SCHED_BATCH, so that a wakeup of the generator does not preempt the process it
  // measures on a machine where both share the cores. normal: the default class.
  bool sched_batch = true;
};

struct parse_outcome {
  std::optional<options> opts;
  std::string error;   // set when opts is empty and help is false
  bool help = false;
};

parse_outcome parse_options(int argc, const char* const* argv);
const char* usage_text();
const char* mode_name(mode m);

}  // namespace exai::bench
