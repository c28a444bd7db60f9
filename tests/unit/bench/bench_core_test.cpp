// Unit tests for exai-bench's core: the latency histogram's accuracy, option parsing, and the
// answer checks that make a wrong, swapped or missing answer count as an error (issue 7).
#define BOOST_TEST_MODULE bench core
#include <boost/test/unit_test.hpp>

#include "bench/histogram.hpp"
#include "bench/options.hpp"
#include "bench/proc_stats.hpp"
#include "bench/protocol.hpp"
#include "bench/syscall_count.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <cmath>
#include <string>
#include <thread>

#include <unistd.h>
#include <vector>

using namespace exai::bench;
namespace json = boost::json;

namespace {

options parse(std::vector<const char*> args) {
  args.insert(args.begin(), "exai-bench");
  auto r = parse_options(static_cast<int>(args.size()), args.data());
  BOOST_REQUIRE_MESSAGE(r.opts.has_value(), r.error);
  return *r.opts;
}

std::string parse_error(std::vector<const char*> args) {
  args.insert(args.begin(), "exai-bench");
  auto r = parse_options(static_cast<int>(args.size()), args.data());
  BOOST_REQUIRE(!r.opts.has_value());
  return r.error;
}

// What a correct MCP server answers to encode_call's tools/call echo request.
std::string mcp_echo_answer(codec& c, unsigned conn, std::uint64_t id) {
  std::string text;
  c.make_text(conn, id, text);
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
         R"(,"result":{"content":[{"type":"text","text":")" + text + R"("}]}})";
}

}  // namespace

BOOST_AUTO_TEST_CASE(histogram_buckets_are_contiguous_and_cover_the_range) {
  for (std::size_t i = 0; i + 1 < histogram::bucket_count; ++i) {
    BOOST_TEST_REQUIRE(histogram::lower_bound_of(i) + histogram::width_of(i) ==
                       histogram::lower_bound_of(i + 1));
  }
  for (std::uint64_t v : {0ull, 1ull, 127ull, 128ull, 129ull, 1000ull, 123456789ull, 1ull << 39}) {
    auto i = histogram::index_of(v);
    BOOST_TEST(histogram::lower_bound_of(i) <= v);
    BOOST_TEST(v < histogram::lower_bound_of(i) + histogram::width_of(i));
  }
  BOOST_TEST(histogram::index_of(~0ull) == histogram::bucket_count - 1);
}

BOOST_AUTO_TEST_CASE(histogram_quantiles_within_one_percent) {
  histogram h;
  // 1..100000 ns, uniform: the q-quantile is q * 100000.
  for (std::uint64_t v = 1; v <= 100000; ++v) h.record(v);
  BOOST_TEST(h.count() == 100000u);
  BOOST_TEST(h.min() == 1u);
  BOOST_TEST(h.max() == 100000u);
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    double got = static_cast<double>(h.quantile(q));
    BOOST_TEST(std::abs(got - q * 100000) / (q * 100000) < 0.01, "q=" << q << " got " << got);
  }
  BOOST_TEST(h.quantile(1.0) == 100000u);
  BOOST_TEST(std::abs(h.mean() - 50000.5) < 1e-6);
}

BOOST_AUTO_TEST_CASE(histogram_tail_and_merge) {
  histogram a, b;
  for (int i = 0; i < 990; ++i) a.record(50'000);   // 50 us
  for (int i = 0; i < 10; ++i) b.record(5'000'000);  // 5 ms outliers
  a.merge(b);
  BOOST_TEST(a.count() == 1000u);
  BOOST_TEST(std::abs(static_cast<double>(a.quantile(0.5)) - 50'000) / 50'000 < 0.01);
  BOOST_TEST(std::abs(static_cast<double>(a.quantile(0.995)) - 5'000'000) / 5'000'000 < 0.01);
  BOOST_TEST(a.max() == 5'000'000u);
  histogram empty;
  BOOST_TEST(empty.quantile(0.5) == 0u);
  BOOST_TEST(empty.min() == 0u);
}

BOOST_AUTO_TEST_CASE(options_parse_and_defaults) {
  auto o = parse({"mcp-ws", "--url", "ws://127.0.0.1:1/", "--connections", "8", "--inflight", "4",
                  "--duration", "1.5", "--args", R"({"k":1})", "--payload-bytes", "256"});
  BOOST_TEST((o.mode == mode::mcp_ws));
  BOOST_TEST(o.connections == 8u);
  BOOST_TEST(o.inflight == 4u);
  BOOST_TEST(o.duration_s == 1.5);
  BOOST_TEST(o.subprotocol == "mcp");
  BOOST_TEST(o.payload_bytes == 256u);
  BOOST_TEST(json::serialize(o.args) == R"({"k":1})");

  auto s = parse({"mcp-stdio", "--inflight", "2", "--", "prog", "--stdio"});
  BOOST_TEST(s.command.size() == 2u);
  BOOST_TEST(s.command[1] == "--stdio");

  auto c = parse({"cancel", "--url", "ws://127.0.0.1:1", "--requests", "50"});
  BOOST_TEST(c.tool == "delay");
  BOOST_TEST(c.delay_ms == c.cancel_after_ms + c.wait_ms + 3000);

  auto op = parse({"op", "--url", "ws://127.0.0.1:1"});
  BOOST_TEST(op.subprotocol.empty());
  BOOST_TEST(op.sched_batch);  // the generator's default class
  BOOST_TEST(!parse({"op", "--url", "ws://127.0.0.1:1", "--sched", "normal"}).sched_batch);
  BOOST_TEST(parse({"op", "--url", "ws://127.0.0.1:1", "--sched", "batch"}).sched_batch);
  BOOST_TEST(parse_error({"op", "--url", "ws://x:1", "--sched", "idle"}).find("batch or normal") !=
             std::string::npos);

  BOOST_TEST(parse_error({"mcp-ws"}).find("--url") != std::string::npos);
  BOOST_TEST(parse_error({"mcp-stdio", "--connections", "2", "--", "x"}).find("--inflight") !=
             std::string::npos);
  BOOST_TEST(parse_error({"op", "--url", "ws://x:1", "--inflight", "0"}).find(">= 1") !=
             std::string::npos);
  BOOST_TEST(parse_error({"op", "--url", "ws://x:1", "--args", "[1]"}).find("object") !=
             std::string::npos);
  BOOST_TEST(parse_error({"nonsense"}).find("unknown mode") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(mcp_request_is_valid_json_with_unique_text) {
  auto o = parse({"mcp-ws", "--url", "ws://127.0.0.1:1", "--payload-bytes", "100", "--args",
                  R"({"extra":true})"});
  codec c(dialect::mcp, o);
  std::string req;
  c.encode_call(3, 42, req);
  auto v = json::parse(req);
  BOOST_TEST(v.at("jsonrpc").as_string() == "2.0");
  BOOST_TEST(v.at("id").as_int64() == 42);
  BOOST_TEST(v.at("method").as_string() == "tools/call");
  const auto& args = v.at("params").at("arguments").as_object();
  BOOST_TEST(args.at("extra").as_bool());
  std::string text(args.at("text").as_string());
  BOOST_TEST(text.size() == 100u);
  std::string other;
  c.encode_call(3, 43, other);
  BOOST_TEST(json::parse(other).at("params").at("arguments").at("text").as_string() != text);

  auto h = json::parse(c.handshake_request(0));
  BOOST_TEST(h.at("method").as_string() == "initialize");
  BOOST_TEST(json::parse(c.handshake_followup()).at("method").as_string() ==
             "notifications/initialized");
}

BOOST_AUTO_TEST_CASE(mcp_answers_are_checked) {
  auto o = parse({"mcp-ws", "--url", "ws://127.0.0.1:1"});
  codec c(dialect::mcp, o);

  auto ok = c.check(1, mcp_echo_answer(c, 1, 7));
  BOOST_TEST((ok.kind == verdict::answer));
  BOOST_TEST(ok.id == 7u);

  // The answer meant for another request (or connection) carries the wrong text.
  std::string swapped = mcp_echo_answer(c, 1, 8);
  swapped.replace(swapped.find("\"id\":8"), 6, "\"id\":7");
  auto bad = c.check(1, swapped);
  BOOST_TEST((bad.kind == verdict::failure));
  BOOST_TEST((bad.error == error_kind::mismatch));
  BOOST_TEST(bad.has_id);
  BOOST_TEST((c.check(2, mcp_echo_answer(c, 1, 7)).error == error_kind::mismatch));

  auto err = c.check(1, R"({"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"x"}})");
  BOOST_TEST((err.error == error_kind::error_reply));
  BOOST_TEST(err.id == 7u);
  auto tool_err = c.check(
      1, R"({"jsonrpc":"2.0","id":7,"result":{"isError":true,"content":[{"type":"text","text":"no"}]}})");
  BOOST_TEST((tool_err.error == error_kind::error_reply));

  BOOST_TEST((c.check(1, R"({"jsonrpc":"2.0","method":"notifications/progress","params":{}})").kind ==
             verdict::ignore));
  BOOST_TEST((c.check(1, "not json").error == error_kind::bad_json));
  BOOST_TEST((c.check(1, R"({"jsonrpc":"2.0","id":"7","result":{}})").error == error_kind::unknown_id));
  BOOST_TEST((c.check(1, R"({"jsonrpc":"2.0","id":7,"result":{}})").error == error_kind::mismatch));

  BOOST_TEST(c.check_handshake_reply(R"({"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18"}})")
                 .empty());
  BOOST_TEST(!c.check_handshake_reply(R"({"jsonrpc":"2.0","id":0,"error":{"code":-1}})").empty());
}

// The learned answer shape (issue 7: the generator shares the cores with what it measures): after
// one answer passed the full check, answers of the same bytes but their own id and text are
// accepted without a parse; everything else still gets the full check and its verdict.
BOOST_AUTO_TEST_CASE(mcp_answer_shape_is_learned_and_never_loosens_the_check) {
  auto o = parse({"mcp-ws", "--url", "ws://127.0.0.1:1", "--payload-bytes", "40"});
  codec c(dialect::mcp, o);
  std::string t7, t8;
  c.make_text(1, 7, t7);
  c.make_text(1, 8, t8);
  auto gateway_style = [](std::uint64_t id, const std::string& text, const char* is_error) {
    return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
           R"(,"result":{"content":[{"type":"text","text":")" + text + R"("}],"isError":)" +
           is_error + "}}";
  };
  BOOST_TEST((c.check(1, gateway_style(7, t7, "false")).kind == verdict::answer));
  BOOST_TEST(c.shape_matches() == 0u);  // that one was parsed, and taught the shape

  std::string t123456;
  c.make_text(1, 123456, t123456);
  auto fast = c.check(1, gateway_style(123456, t123456, "false"));
  BOOST_TEST((fast.kind == verdict::answer));
  BOOST_TEST(fast.id == 123456u);
  BOOST_TEST(c.shape_matches() == 1u);

  // Same shape, wrong text (another request's, another connection's): the full check says so.
  auto swapped = c.check(1, gateway_style(7, t8, "false"));
  BOOST_TEST((swapped.error == error_kind::mismatch));
  BOOST_TEST((c.check(2, gateway_style(7, t7, "false")).error == error_kind::mismatch));
  // A tool error in the same layout differs in its bytes: parsed, and reported.
  BOOST_TEST((c.check(1, gateway_style(7, t7, "true")).error == error_kind::error_reply));
  // A leading zero is not a JSON number: not the shape, and not JSON either.
  BOOST_TEST((c.check(1, gateway_style(7, t7, "false").replace(22, 1, "07")).error ==
              error_kind::bad_json));
  // A cut-short answer and one with something appended are not the shape.
  std::string whole = gateway_style(8, t8, "false");
  BOOST_TEST((c.check(1, whole.substr(0, whole.size() - 1)).error == error_kind::bad_json));
  BOOST_TEST((c.check(1, whole + " x").error == error_kind::bad_json));
  // Another layout still passes through the full check.
  BOOST_TEST((c.check(1, mcp_echo_answer(c, 1, 8)).kind == verdict::answer));
  BOOST_TEST(c.shape_matches() == 1u);

  // The SDK's layout puts the id last: learned the same way.
  codec sdk(dialect::mcp, o);
  auto sdk_style = [](std::uint64_t id, const std::string& text) {
    return R"({"result":{"content":[{"type":"text","text":")" + text +
           R"("}]},"jsonrpc":"2.0","id":)" + std::to_string(id) + "}";
  };
  BOOST_TEST((sdk.check(1, sdk_style(7, t7)).kind == verdict::answer));
  auto sdk_fast = sdk.check(1, sdk_style(8, t8));
  BOOST_TEST((sdk_fast.kind == verdict::answer));
  BOOST_TEST(sdk_fast.id == 8u);
  BOOST_TEST(sdk.shape_matches() == 1u);
  // The id after the text must be the one the text names.
  BOOST_TEST((sdk.check(1, sdk_style(9, t8)).error == error_kind::mismatch));
  BOOST_TEST(sdk.shape_matches() == 1u);
}

BOOST_AUTO_TEST_CASE(op_requests_and_answers) {
  auto o = parse({"op", "--url", "ws://127.0.0.1:1", "--payload-bytes", "20"});
  codec c(dialect::op, o);
  auto hello = json::parse(c.handshake_request(5));
  BOOST_TEST(hello.at("op").as_string() == "hello");
  BOOST_TEST(hello.at("capabilities").at("multiplex").as_bool());
  std::string sid(hello.at("session_id").as_string());
  BOOST_TEST(sid.find("-5") != std::string::npos);

  std::string req;
  c.encode_call(5, 9, req);
  auto r = json::parse(req);
  BOOST_TEST(r.at("op").as_string() == "call_tool");
  BOOST_TEST(r.at("request_id").as_string() == "b5-9");
  std::string text(r.at("arguments").at("text").as_string());

  std::string good = R"({"op":"call_tool_res","request_id":"b5-9","outputs":[{"type":"text","text":")" +
                     text + R"(","metadata":{}}]})";
  auto v = c.check(5, good);
  BOOST_TEST((v.kind == verdict::answer));
  BOOST_TEST(v.id == 9u);
  BOOST_TEST((c.check(4, good).error == error_kind::unknown_id));  // another connection's id
  BOOST_TEST((c.check(5, R"({"op":"progress","request_id":"b5-9","message":"m"})").kind == verdict::ignore));
  auto e = c.check(5, R"({"op":"call_tool_res","request_id":"b5-9","error":{"code":"TIMEOUT"}})");
  BOOST_TEST((e.error == error_kind::error_reply));
  BOOST_TEST(e.has_id);
  auto bare = c.check(5, R"({"error":{"code":"TOOL_NOT_FOUND","message":"x"}})");
  BOOST_TEST((bare.error == error_kind::error_reply));
  BOOST_TEST(!bare.has_id);

  bool mux = false;
  BOOST_TEST(c.check_handshake_reply(
                  R"({"op":"hello_ack","ok":true,"capabilities":{"multiplex":true}})", &mux)
                 .empty());
  BOOST_TEST(mux);
  BOOST_TEST(c.check_handshake_reply(R"({"op":"hello_ack","ok":true})", &mux).empty());
  BOOST_TEST(!mux);
  BOOST_TEST(!c.check_handshake_reply(R"({"op":"hello_ack","ok":false,"error":"unauthorized"})").empty());
}

BOOST_AUTO_TEST_CASE(raw_frames_round_trip) {
  auto o = parse({"raw", "--url", "ws://127.0.0.1:1", "--payload-bytes", "64"});
  codec c(dialect::raw, o);
  std::string frame;
  c.encode_call(2, 1234, frame);
  BOOST_TEST(frame.size() == 64u);
  auto v = c.check(2, frame);
  BOOST_TEST((v.kind == verdict::answer));
  BOOST_TEST(v.id == 1234u);
  std::string cut = frame.substr(0, 63);
  BOOST_TEST((c.check(2, cut).error == error_kind::mismatch));
  BOOST_TEST((c.check(3, frame).error == error_kind::unknown_id));
}

BOOST_AUTO_TEST_CASE(fixed_text_and_other_tools) {
  auto o = parse({"mcp-ws", "--url", "ws://127.0.0.1:1", "--args", R"({"text":"same"})"});
  codec c(dialect::mcp, o);
  std::string req;
  c.encode_call(0, 5, req);
  BOOST_TEST(json::parse(req).at("params").at("arguments").at("text").as_string() == "same");
  BOOST_TEST((c.check(0, R"({"jsonrpc":"2.0","id":5,"result":{"content":[{"type":"text","text":"same"}]}})")
                 .kind == verdict::answer));
  BOOST_TEST((c.check(0, R"({"jsonrpc":"2.0","id":5,"result":{"content":[{"type":"text","text":"other"}]}})")
                  .error == error_kind::mismatch));

  auto s = parse({"mcp-ws", "--url", "ws://127.0.0.1:1", "--tool", "status"});
  codec st(dialect::mcp, s);
  st.encode_call(0, 5, req);
  BOOST_TEST(json::serialize(json::parse(req).at("params").at("arguments")) == "{}");
  BOOST_TEST((st.check(0, R"({"jsonrpc":"2.0","id":5,"result":{"content":[{"type":"text","text":"{}"}]}})")
                 .kind == verdict::answer));
}

BOOST_AUTO_TEST_CASE(cancel_and_metrics_helpers) {
  auto o = parse({"cancel", "--url", "ws://127.0.0.1:1"});
  codec c(dialect::mcp, o);
  std::string msg;
  c.encode_cancel(77, msg);
  auto v = json::parse(msg);
  BOOST_TEST(v.at("method").as_string() == "notifications/cancelled");
  BOOST_TEST(v.at("params").at("requestId").as_int64() == 77);
  BOOST_TEST(!v.as_object().contains("id"));

  std::string body =
      "# HELP exai_inflight_requests Requests received and not yet answered.\n"
      "# TYPE exai_inflight_requests gauge\n"
      "exai_inflight_requests 3\n"
      "exai_inflight_requests_other 100\n"
      "exai_sessions{transport=\"ws\",dialect=\"mcp\"} 2\n"
      "exai_sessions{transport=\"stdio\",dialect=\"mcp\"} 1\n";
  BOOST_TEST(prometheus_value(body, "exai_inflight_requests").value() == 3.0);
  BOOST_TEST(prometheus_value(body, "exai_sessions").value() == 3.0);
  BOOST_TEST(!prometheus_value(body, "exai_missing").has_value());

  auto in_flight = status_in_flight(
      R"({"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"{\"uptime_s\":3,\"calls\":{\"in_flight\":2}}"}]}})");
  BOOST_TEST(in_flight.value() == 2);
  BOOST_TEST(!status_in_flight(R"({"jsonrpc":"2.0","id":1,"result":{"content":[]}})").has_value());
}

BOOST_AUTO_TEST_CASE(perf_stat_csv_gives_the_syscall_count) {
  BOOST_TEST(parse_perf_syscalls("# started on Fri Dec  4\n\n1234567,,raw_syscalls:sys_enter,10002,100.00,,\n")
                 .value() == 1234567u);
  BOOST_TEST(!parse_perf_syscalls("<not counted>,,raw_syscalls:sys_enter,0,100.00,,\n").has_value());
  BOOST_TEST(!parse_perf_syscalls("<not supported>,,raw_syscalls:sys_enter,0,100.00,,\n").has_value());
  BOOST_TEST(!parse_perf_syscalls("42,,context-switches,10002,100.00,,\n").has_value());
  BOOST_TEST(!parse_perf_syscalls("").has_value());
}

BOOST_AUTO_TEST_CASE(process_sample_counts_context_switches_and_faults) {
  auto first = sample_process(static_cast<int>(::getpid()));
  BOOST_REQUIRE(first.has_value());
  // Blocking gives up the CPU: each sleep is at least one voluntary switch of this thread.
  for (int i = 0; i < 5; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::vector<char> touched(8u << 20, 1);  // fresh pages: minor faults
  auto second = sample_process(static_cast<int>(::getpid()));
  BOOST_REQUIRE(second.has_value());
  BOOST_TEST(second->voluntary_cs >= first->voluntary_cs + 5);
  BOOST_TEST(second->minor_faults > first->minor_faults);
  BOOST_TEST(touched.back() == 1);
}
