// The model tools end to end: the real exai-daemon and exai-gateway with provider keys pointing at
// the fake provider (tests/fakes/provider, a TEST DOUBLE: no model can run here) over TLS with a
// CA made at test time, and small clients for each dialect: MCP over stdio and WebSocket, op over
// WebSocket. Every wait is bounded.
#pragma once

#include "tests/integration/daemon/daemon_fixture.hpp"
#include "tests/integration/gateway/gateway_process.hpp"
#include "tests/support/fake_provider.hpp"
#include "tests/support/files.hpp"
#include "tests/support/process.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace exai::test::models {

namespace json = boost::json;
using namespace std::chrono_literals;

// The fake provider, a folder the tools may read, and the environment that points the
// providers at them. Keys are fake; MiniMax stays unconfigured.
struct provider_env {
  fake_provider fp;
  temp_dir root{"models-root"};

  explicit provider_env(fake_provider_options o = {}) : fp(fake_provider::start(std::move(o))) {}

  std::vector<std::string> env() const {
    return {"GLM_API_KEY=test-glm-key",
            "GLM_API_URL=" + fp.url() + "/api/paas/v4",
            "KIMI_API_KEY=test-kimi-key",
            "KIMI_API_URL=" + fp.url() + "/v1",
            "MINIMAX_M2_KEY=",
            "MINIMAX_API_KEY=",
            "EXAI_PROVIDER_CA_FILE=" + fp.ca_file(),
            "EXAI_ALLOWED_ROOTS=" + root.path.string(),
            "EXAI_WS_TOKEN=",
            "EXAI_GATEWAY_TOKEN="};
  }

  std::string write(const std::string& name, std::string_view text) const {
    std::ofstream(root / name, std::ios::binary) << text;
    return std::filesystem::canonical(root / name).string();
  }

  // Polls the record until `pred` holds for some line of `event` (bounded).
  bool wait_record(std::string_view event, const std::function<bool(const json::object&)>& pred,
                   std::chrono::milliseconds timeout = 15s) const {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      for (const auto& r : fp.records(event))
        if (pred(r)) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
};

// The environment of a process that must see no provider key at all.
inline std::vector<std::string> no_keys_env() {
  return {"GLM_API_KEY=", "ZHIPUAI_API_KEY=", "KIMI_API_KEY=", "MOONSHOT_API_KEY=",
          "MINIMAX_M2_KEY=", "MINIMAX_API_KEY=", "EXAI_WS_TOKEN=", "EXAI_GATEWAY_TOKEN="};
}

// ---- processes ------------------------------------------------------------------------------

inline listening_child start_daemon(std::vector<std::string> env, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{program("EXAI_DAEMON_BIN"), "--listen", "127.0.0.1:0", "--log-level", "debug"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return start_listening(std::move(argv), std::move(env));
}

inline listening_child start_ws_gateway(std::vector<std::string> env, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{program("EXAI_GATEWAY_BIN"), "--listen", "127.0.0.1:0", "--log-level", "debug"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return start_listening(std::move(argv), std::move(env));
}

// ---- MCP (JSON-RPC) ---------------------------------------------------------------------------

inline json::object initialized() {
  json::object n;
  n["jsonrpc"] = "2.0";
  n["method"] = "notifications/initialized";
  return n;
}

// tools/call, with a progress token when one is given.
inline json::object mcp_call(json::value id, std::string_view tool, json::object args,
                             std::optional<json::value> progress_token = std::nullopt) {
  json::object p;
  p["name"] = tool;
  p["arguments"] = std::move(args);
  if (progress_token) {
    json::object meta;
    meta["progressToken"] = *progress_token;
    p["_meta"] = std::move(meta);
  }
  return rpc(std::move(id), "tools/call", std::move(p));
}

inline json::object mcp_cancel(json::value id) {
  json::object n;
  n["jsonrpc"] = "2.0";
  n["method"] = "notifications/cancelled";
  json::object p;
  p["requestId"] = std::move(id);
  p["reason"] = "test";
  n["params"] = std::move(p);
  return n;
}

// A transport-neutral MCP conversation: stdio pipes or a WebSocket.
class mcp_client {
 public:
  virtual ~mcp_client() = default;
  virtual void send(const json::value& v) = 0;
  virtual json::object next(std::chrono::milliseconds timeout = 20s) = 0;

  void open() {
    send(initialize_request(0));
    auto r = next();
    BOOST_REQUIRE(r.contains("result"));
    send(initialized());
  }

  struct call_result {
    json::object response;                   // the JSON-RPC response
    std::vector<json::object> progress;      // notifications/progress params seen before it
  };
  // Sends one tools/call and collects its progress notifications and its response.
  call_result call(json::value id, std::string_view tool, json::object args,
                   std::optional<json::value> token = std::nullopt) {
    send(mcp_call(id, tool, std::move(args), token));
    return until_response(id);
  }
  call_result until_response(const json::value& id) {
    call_result out;
    for (;;) {
      auto m = next();
      if (m.contains("id") && m.at("id") == id && !m.contains("method")) {
        out.response = std::move(m);
        return out;
      }
      if (m.contains("method") && m.at("method") == "notifications/progress")
        out.progress.push_back(m.at("params").as_object());
    }
  }
};

class stdio_mcp final : public mcp_client {
 public:
  stdio_mcp(std::vector<std::string> env, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{program("EXAI_GATEWAY_BIN"), "--stdio", "--log-level", "debug"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    proc.emplace(child_process::start(argv, std::move(env), /*pipe_stdio=*/true));
  }
  void send(const json::value& v) override { proc->write_stdin(json::serialize(v) + "\n"); }
  json::object next(std::chrono::milliseconds timeout = 20s) override {
    auto line = proc->read_stdout_line(timeout);
    BOOST_REQUIRE_MESSAGE(line, "no stdout line from the gateway; stderr:\n" + proc->stderr_text());
    return json::parse(*line).as_object();  // stdout carries nothing but MCP messages
  }
  std::optional<child_process> proc;
};

class ws_mcp final : public mcp_client {
 public:
  explicit ws_mcp(std::uint16_t port) {
    ws_options o;
    o.subprotocol = "mcp";
    ws = std::make_unique<ws_client>("127.0.0.1", port, o);
  }
  void send(const json::value& v) override { ws->send_json(v); }
  json::object next(std::chrono::milliseconds timeout = 20s) override { return ws->read_json(timeout).as_object(); }
  std::unique_ptr<ws_client> ws;
};

// The §1.4 document in a tools/call response's text block.
inline json::object mcp_doc(const json::object& response) {
  BOOST_REQUIRE_MESSAGE(response.contains("result"), json::serialize(response));
  return json::parse(response.at("result").at("content").at(0).at("text").as_string()).as_object();
}

// ---- op ---------------------------------------------------------------------------------------

inline std::unique_ptr<ws_client> op_session(std::uint16_t port, bool extensions) {
  auto c = std::make_unique<ws_client>("127.0.0.1", port);
  c->send_json(daemon::hello_msg(extensions, extensions, extensions));
  auto ack = c->read_json(10s).as_object();
  BOOST_REQUIRE_EQUAL(ack.at("op").as_string(), "hello_ack");
  BOOST_REQUIRE(ack.at("ok").as_bool());
  return c;
}

inline json::object op_call(const std::string& id, const std::string& tool, json::object args) {
  return daemon::call_msg(id, tool, std::move(args));
}

struct op_result {
  json::object reply;                    // call_tool_res
  std::vector<json::object> progress;    // progress messages for the call
  std::vector<json::object> chunks;      // stream_chunk messages for the call
};

inline op_result op_until_result(ws_client& c, const std::string& id) {
  op_result out;
  for (;;) {
    auto m = c.read_json(20s).as_object();
    if (m.contains("request_id") && m.at("request_id") != json::value(id)) continue;
    const auto op = m.at("op").as_string();
    if (op == "progress") out.progress.push_back(std::move(m));
    else if (op == "stream_chunk") out.chunks.push_back(std::move(m));
    else if (op == "stream_complete") continue;
    else {
      out.reply = std::move(m);
      return out;
    }
  }
}

inline json::object op_doc(const op_result& r) {
  BOOST_REQUIRE_MESSAGE(r.reply.contains("outputs"), json::serialize(r.reply));
  return json::parse(r.reply.at("outputs").at(0).at("text").as_string()).as_object();
}

// ---- golden files ------------------------------------------------------------------------------

// Compares `actual` with tests/data/models/<name> after replacing `root` (a temporary folder)
// with "$ROOT". EXAI_UPDATE_GOLDEN=1 writes the file instead (review the diff before committing).
inline void check_golden(const std::string& name, const json::value& actual, const std::string& root) {
  std::string text = json::serialize(actual);
  for (std::size_t at = text.find(root); !root.empty() && at != std::string::npos; at = text.find(root, at))
    text.replace(at, root.size(), "$ROOT");
  const auto normalised = json::parse(text);
  const std::string path = std::string(EXAI_TEST_DATA_DIR) + "/models/" + name;
  if (const char* u = std::getenv("EXAI_UPDATE_GOLDEN"); u && std::string(u) == "1") {
    std::ofstream(path) << json::serialize(normalised) << "\n";
    return;
  }
  std::ifstream in(path);
  BOOST_REQUIRE_MESSAGE(in, "missing golden file " + path + "; actual:\n" + json::serialize(normalised));
  std::string want((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  BOOST_TEST(json::parse(want) == normalised, name << " differs; actual:\n" << json::serialize(normalised));
}

}  // namespace exai::test::models
