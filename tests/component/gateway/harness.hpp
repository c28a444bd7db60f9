// A session pumped from an in-memory pipe with a scripted backend, driven step by step from a test:
// push client messages, run the io_context until a reply (or a bounded silence), inspect.
#pragma once

#include "fake_backend.hpp"
#include "gateway/memory_transport.hpp"
#include "gateway/session.hpp"
#include "gateway/stream_pump.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace exai::test {

namespace json = boost::json;
using namespace std::chrono_literals;

struct harness {
  boost::asio::io_context ioc;
  fake_backend backend;
  routes::route_options ropts;
  std::unique_ptr<gateway::memory_pipe> pipe;
  std::shared_ptr<gateway::session> session;
  bool ended = false;

  harness() { ropts.server_version = "9.9.9"; }
  ~harness() {
    // Let the session unwind (its coroutines hold references to the backend and options).
    if (session && !ended) {
      pipe->close_input();
      run_until([this] { return ended; }, 5s);
    }
  }

  void start(gateway::session_options o = {}, bool replies_after_eof = false) {
    pipe = std::make_unique<gateway::memory_pipe>(ioc.get_executor(), "memory", replies_after_eof);
    if (o.id.empty()) o.id = "gw-test";
    session = gateway::session::create(ioc.get_executor(), backend, ropts, std::move(o));
    boost::asio::co_spawn(ioc, gateway::async_pump(pipe->transport(), session),
                          [this](std::exception_ptr) { ended = true; });
  }

  // Runs the io_context until pred() holds or the timeout passes; returns pred().
  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= end) return false;
      ioc.restart();
      ioc.run_one_for(10ms);
    }
    return true;
  }
  // Runs for a while regardless (to let things settle, or to observe silence).
  void run_for(std::chrono::milliseconds d) {
    run_until([] { return false; }, d);
  }

  void send(const json::value& v) { pipe->push(json::serialize(v)); }
  void send_raw(std::string text) { pipe->push(std::move(text)); }

  // The next message the session wrote, parsed; fails the test on timeout.
  json::value next(std::chrono::milliseconds timeout = 5s) {
    bool got = run_until([this] { return pipe->written() > 0; }, timeout);
    BOOST_REQUIRE_MESSAGE(got, "no message from the session within the timeout");
    auto text = pipe->take();
    return json::parse(*text);
  }
  std::string next_raw(std::chrono::milliseconds timeout = 5s) {
    bool got = run_until([this] { return pipe->written() > 0; }, timeout);
    BOOST_REQUIRE_MESSAGE(got, "no message from the session within the timeout");
    return *pipe->take();
  }
  // True when nothing was written during d.
  bool silent_for(std::chrono::milliseconds d) {
    run_for(d);
    return pipe->written() == 0;
  }
};

inline json::object request(json::value id, std::string_view method, json::object params = {}) {
  json::object o;
  o["jsonrpc"] = "2.0";
  o["id"] = std::move(id);
  o["method"] = method;
  if (!params.empty()) o["params"] = std::move(params);
  return o;
}

inline json::object notification(std::string_view method, json::object params = {}) {
  json::object o;
  o["jsonrpc"] = "2.0";
  o["method"] = method;
  if (!params.empty()) o["params"] = std::move(params);
  return o;
}

inline json::object call(json::value id, std::string_view tool, json::object args = {}) {
  json::object params;
  params["name"] = tool;
  params["arguments"] = std::move(args);
  return request(std::move(id), "tools/call", std::move(params));
}

inline json::object initialize(json::value id, std::string_view version) {
  json::object params;
  params["protocolVersion"] = version;
  params["capabilities"] = json::object();
  params["clientInfo"] = json::object{{"name", "test"}, {"version", "1"}};
  return request(std::move(id), "initialize", std::move(params));
}

inline std::string text_of(const json::value& response) {
  return std::string(response.at("result").at("content").at(0).at("text").as_string());
}

}  // namespace exai::test
