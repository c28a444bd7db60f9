// Starts the real exai-daemon on 127.0.0.1:0 with --ready-file and connects op clients to it
// (issue 3 integration tests). Every wait is bounded.
#pragma once

#include "tests/support/process.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace exai::test::daemon {

namespace json = boost::json;
using namespace std::chrono_literals;

inline long elapsed_ms(std::chrono::steady_clock::time_point since) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - since)
                               .count());
}

// A config file written for one test (removed with the fixture).
inline std::string write_config(const std::string& text) {
  auto path = temp_path("daemon-config") + ".json";
  std::ofstream(path) << text;
  return path;
}

struct daemon_process {
  explicit daemon_process(std::vector<std::string> extra_args = {"--tools", "core,diagnostics"},
                          std::vector<std::string> env = {}) {
    ready_file = temp_path("daemon-ready") + ".json";
    std::vector<std::string> argv = {program("EXAI_DAEMON_BIN"), "--listen", "127.0.0.1:0",
                                     "--ready-file", ready_file, "--log-level", "debug"};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    // An empty token unless the test sets one: the host's environment must not leak in.
    bool has_token = false;
    for (const auto& e : env) has_token = has_token || e.rfind("EXAI_WS_TOKEN=", 0) == 0;
    if (!has_token) env.push_back("EXAI_WS_TOKEN=");
    proc = std::make_unique<child_process>(child_process::start(argv, env));
    auto ready = proc->wait_ready(ready_file, 20s);
    ws = std::string(ready.at("ws").as_string());
    port = port_of(ws);
  }
  ~daemon_process() {
    if (proc && proc->running()) {
      proc->signal(SIGTERM);
      if (!proc->wait_exit(15s)) proc->kill();
    }
    // In sanitizer builds the daemon's own findings land in its stderr: surface them here.
    if (proc) {
      const auto err = proc->stderr_text();
      for (const char* marker : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"})
        if (err.find(marker) != std::string::npos)
          BOOST_ERROR("exai-daemon reported '" << marker << "':\n" << err.substr(err.find(marker), 4000));
    }
    std::remove(ready_file.c_str());
  }

  std::unique_ptr<ws_client> connect() { return std::make_unique<ws_client>("127.0.0.1", port); }

  std::unique_ptr<child_process> proc;
  std::string ready_file;
  std::string ws;
  std::uint16_t port = 0;
};

inline json::object hello_msg(bool multiplex = false, bool cancel = false, bool progress = false,
                              std::string token = "") {
  json::object h;
  h["op"] = "hello";
  h["token"] = token;
  if (multiplex || cancel || progress) {
    json::object caps;
    caps["multiplex"] = multiplex;
    caps["cancel"] = cancel;
    caps["progress"] = progress;
    h["capabilities"] = std::move(caps);
  }
  return h;
}

// Connects and completes the handshake; returns the client and checks the ack.
inline std::unique_ptr<ws_client> open_session(daemon_process& d, bool multiplex = false, bool cancel = false,
                                               bool progress = false, std::string token = "") {
  auto c = d.connect();
  c->send_json(hello_msg(multiplex, cancel, progress, std::move(token)));
  auto ack = c->read_json(10s).as_object();
  BOOST_REQUIRE_EQUAL(ack.at("op").as_string(), "hello_ack");
  BOOST_REQUIRE(ack.at("ok").as_bool());
  return c;
}

inline json::object call_msg(const std::string& id, const std::string& name, json::object args) {
  json::object m;
  m["op"] = "call_tool";
  m["request_id"] = id;
  m["name"] = name;
  m["arguments"] = std::move(args);
  return m;
}

inline json::object echo_call(const std::string& id, const std::string& text) {
  json::object a;
  a["text"] = text;
  return call_msg(id, "echo", std::move(a));
}

inline json::object delay_call(const std::string& id, std::int64_t ms, std::int64_t every = 0) {
  json::object a;
  a["ms"] = ms;
  if (every > 0) a["progress_every_ms"] = every;
  return call_msg(id, "delay", std::move(a));
}

inline json::object simple(std::string op, std::string id) {
  json::object m;
  m["op"] = std::move(op);
  m["request_id"] = std::move(id);
  return m;
}

// The next message that is not a heartbeat/progress message.
inline json::object next_non_progress(ws_client& c, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("no non-progress message in time");
    auto m = c.read_json(left).as_object();
    if (m.at("op") != "progress") return m;
  }
}

inline std::string text_of(const json::object& call_tool_res) {
  return std::string(call_tool_res.at("outputs").as_array().at(0).as_object().at("text").as_string());
}

// Reads until the connection closes; returns the close code (or 0/-1, see ws_client).
inline int wait_closed(ws_client& c, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (c.is_open() && std::chrono::steady_clock::now() < deadline) c.read(50ms);
  return c.is_open() ? 0 : c.close_code();
}

}  // namespace exai::test::daemon
