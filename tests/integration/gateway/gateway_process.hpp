// Starting the real exai-gateway for integration tests: WebSocket and admin on free loopback
// ports, diagnostics tools on, the ready file read back.
#pragma once

#include "tests/support/process.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace exai::test {

namespace json = boost::json;
using namespace std::chrono_literals;

inline std::string gateway_bin() { return program("EXAI_GATEWAY_BIN"); }

struct ws_gateway {
  std::string ready_file = temp_path("gw-ready");
  std::optional<child_process> proc;
  json::object info;

  explicit ws_gateway(std::vector<std::string> extra = {}, std::vector<std::string> env = {}) {
    std::vector<std::string> argv{gateway_bin(), "--listen",     "127.0.0.1:0",
                                  "--admin",     "127.0.0.1:0",  "--ready-file",
                                  ready_file,    "--tools",      "core,diagnostics"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    proc.emplace(child_process::start(argv, env));
    info = proc->wait_ready(ready_file, 20s);
  }
  std::uint16_t ws_port() const { return port_of(std::string(info.at("ws").as_string())); }
  std::uint16_t admin_port() const { return port_of(std::string(info.at("admin").as_string())); }
};

inline json::object rpc(json::value id, std::string_view method, json::object params = {}) {
  json::object o;
  o["jsonrpc"] = "2.0";
  o["id"] = std::move(id);
  o["method"] = method;
  o["params"] = std::move(params);
  return o;
}

inline json::object tool_call(json::value id, std::string_view tool, json::object args) {
  json::object p;
  p["name"] = tool;
  p["arguments"] = std::move(args);
  return rpc(std::move(id), "tools/call", std::move(p));
}

inline json::object initialize_request(json::value id) {
  json::object p;
  p["protocolVersion"] = "2025-06-18";
  p["capabilities"] = json::object();
  p["clientInfo"] = json::object{{"name", "integration"}, {"version", "1"}};
  return rpc(std::move(id), "initialize", std::move(p));
}

inline std::string result_text(const json::value& r) {
  return std::string(r.at("result").at("content").at(0).at("text").as_string());
}

}  // namespace exai::test
