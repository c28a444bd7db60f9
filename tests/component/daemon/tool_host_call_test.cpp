// In-process tool calls (the gateway's embedded backend path): validation before the handler,
// cancellation through the awaiting coroutine's slot, deadlines, progress and the counters.
#define BOOST_TEST_MODULE daemon_component_tool_host
#include "daemon/tool_host.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <stdexcept>
#include <thread>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace exai::daemon;
using exai::codecs::errc;
using exai::codecs::result;
using exai::codecs::tool_result;
using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

namespace {

tool_host::options diag() {
  tool_host::options o;
  o.profiles = {"core", "diagnostics"};
  return o;
}

struct call_outcome {
  std::optional<result<tool_result>> r;
  clock_type::duration took{};
};

// Runs one call on a fresh io_context; cancels it (terminal) after `cancel_after` when given.
call_outcome run_call(tool_host& host, std::string name, std::string_view args, tool_context ctx = {},
                      std::optional<milliseconds> cancel_after = std::nullopt) {
  asio::io_context ioc;
  asio::cancellation_signal sig;
  call_outcome out;
  auto start = clock_type::now();
  asio::co_spawn(ioc, host.async_call(std::move(name), json::parse(args).as_object(), std::move(ctx)),
                 asio::bind_cancellation_slot(sig.slot(), [&](std::exception_ptr e, result<tool_result> r) {
                   if (e) std::rethrow_exception(e);
                   out.r = std::move(r);
                   out.took = clock_type::now() - start;
                 }));
  asio::steady_timer t(ioc);
  if (cancel_after) {
    t.expires_after(*cancel_after);
    t.async_wait([&](boost::system::error_code ec) {
      if (!ec) sig.emit(asio::cancellation_type::terminal);
    });
  }
  ioc.run_for(std::chrono::seconds(20));
  return out;
}

std::string text_of(const tool_result& r) {
  return std::string(r.content.at(0).as_object().at("text").as_string());
}

asio::awaitable<tool_result> throws(json::object, tool_context) {
  throw std::runtime_error("boom");
  co_return tool_result{};
}

}  // namespace

BOOST_AUTO_TEST_CASE(echo_returns_text) {
  tool_host host(diag());
  auto o = run_call(host, "echo", R"({"text":"héllo"})");
  BOOST_REQUIRE(o.r && o.r->has_value());
  BOOST_TEST(text_of(o.r->value()) == "héllo");
  BOOST_TEST(!o.r->value().is_error);
  BOOST_TEST(host.stats().completed == 1u);
}

BOOST_AUTO_TEST_CASE(suffixed_names_reach_the_tool) {
  tool_host host(diag());
  auto o = run_call(host, "echo_EXAI-WS", R"({"text":"x"})");
  BOOST_REQUIRE(o.r && o.r->has_value());
  BOOST_TEST(text_of(o.r->value()) == "x");
}

BOOST_AUTO_TEST_CASE(unknown_tool) {
  tool_host host(diag());
  auto o = run_call(host, "nope", "{}");
  BOOST_REQUIRE(o.r && o.r->has_error());
  BOOST_TEST(static_cast<int>(o.r->error().code) == static_cast<int>(errc::tool_not_found));
  BOOST_TEST(o.r->error().message == "Tool not found: nope");
}

BOOST_AUTO_TEST_CASE(diagnostics_are_off_by_default) {
  tool_host host({});
  auto o = run_call(host, "echo", R"({"text":"x"})");
  BOOST_REQUIRE(o.r && o.r->has_error());
  BOOST_TEST(static_cast<int>(o.r->error().code) == static_cast<int>(errc::tool_not_found));
}

BOOST_AUTO_TEST_CASE(invalid_arguments_never_reach_the_handler) {
  tool_host host(diag());
  auto o = run_call(host, "echo", R"({"text":5})");
  BOOST_REQUIRE(o.r && o.r->has_error());
  BOOST_TEST(static_cast<int>(o.r->error().code) == static_cast<int>(errc::invalid_params));
  BOOST_TEST(o.r->error().message == "arguments.text: expected string, got integer");
  auto m = run_call(host, "delay", "{}");
  BOOST_REQUIRE(m.r && m.r->has_error());
  BOOST_TEST(m.r->error().message == "arguments: missing required property 'ms'");
  auto s = host.stats();
  BOOST_TEST(s.completed + s.failed + s.cancelled == 0u);
}

BOOST_AUTO_TEST_CASE(fail_is_a_tool_level_error) {
  tool_host host(diag());
  auto o = run_call(host, "fail", R"({"message":"it broke"})");
  BOOST_REQUIRE(o.r && o.r->has_value());
  BOOST_TEST(o.r->value().is_error);
  BOOST_TEST(text_of(o.r->value()) == "it broke");
  BOOST_TEST(host.stats().failed == 1u);
}

BOOST_AUTO_TEST_CASE(blob_has_exact_size) {
  tool_host host(diag());
  auto o = run_call(host, "blob", R"({"bytes":100000})");
  BOOST_REQUIRE(o.r && o.r->has_value());
  auto t = text_of(o.r->value());
  BOOST_TEST(t.size() == 100000u);
  BOOST_TEST(t.substr(0, 27) == "abcdefghijklmnopqrstuvwxyza");
  auto too_big = run_call(host, "blob", R"({"bytes":67108865})");
  BOOST_REQUIRE(too_big.r && too_big.r->has_error());
  BOOST_TEST(too_big.r->error().message.starts_with("arguments.bytes: "));
}

BOOST_AUTO_TEST_CASE(delay_waits_and_reports_numeric_progress) {
  tool_host host(diag());
  std::vector<exai::codecs::progress_update> seen;
  tool_context ctx;
  ctx.progress = [&](const exai::codecs::progress_update& u) { seen.push_back(u); };
  auto o = run_call(host, "delay", R"({"ms":120,"progress_every_ms":30})", ctx);
  BOOST_REQUIRE(o.r && o.r->has_value());
  BOOST_TEST(text_of(o.r->value()) == "waited 120 ms");
  BOOST_TEST(o.took >= milliseconds(120));
  BOOST_REQUIRE(seen.size() == 3u);  // at 30, 60, 90 (none at the end: the result follows)
  for (std::size_t i = 0; i < seen.size(); ++i) {
    BOOST_TEST(*seen[i].progress == 30.0 * static_cast<double>(i + 1));
    BOOST_TEST(*seen[i].total == 120.0);
  }
  BOOST_TEST(seen[0].message == "waited 30 of 120 ms");
}

BOOST_AUTO_TEST_CASE(cancelling_delay_stops_it_at_once) {
  tool_host host(diag());
  auto o = run_call(host, "delay", R"({"ms":10000})", {}, milliseconds(50));
  BOOST_REQUIRE(o.r && o.r->has_error());
  BOOST_TEST(static_cast<int>(o.r->error().code) == static_cast<int>(errc::cancelled));
  BOOST_TEST(o.took < milliseconds(5000));  // generous: the point is "not 10 s"
  auto s = host.stats();
  BOOST_TEST(s.cancelled == 1u);
  BOOST_TEST(s.in_flight == 0u);
}

BOOST_AUTO_TEST_CASE(cancelling_delay_with_progress_and_deadline) {
  tool_host host(diag());
  tool_context ctx;
  int reports = 0;
  ctx.progress = [&](const exai::codecs::progress_update&) { ++reports; };
  ctx.deadline = clock_type::now() + std::chrono::seconds(30);
  auto o = run_call(host, "delay", R"({"ms":10000,"progress_every_ms":10})", ctx, milliseconds(60));
  BOOST_REQUIRE(o.r && o.r->has_error());
  BOOST_TEST(static_cast<int>(o.r->error().code) == static_cast<int>(errc::cancelled));
  BOOST_TEST(o.took < milliseconds(5000));
  BOOST_TEST(reports >= 1);
}

BOOST_AUTO_TEST_CASE(deadline_times_out) {
  tool_host host(diag());
  tool_context ctx;
  ctx.deadline = clock_type::now() + milliseconds(50);
  auto o = run_call(host, "delay", R"({"ms":10000})", ctx);
  BOOST_REQUIRE(o.r && o.r->has_error());
  BOOST_TEST(static_cast<int>(o.r->error().code) == static_cast<int>(errc::timeout));
  BOOST_TEST(o.took < milliseconds(5000));
  BOOST_TEST(host.stats().failed == 1u);
  BOOST_TEST(host.stats().in_flight == 0u);
}

BOOST_AUTO_TEST_CASE(deadline_not_reached) {
  tool_host host(diag());
  tool_context ctx;
  ctx.deadline = clock_type::now() + std::chrono::seconds(10);
  auto o = run_call(host, "delay", R"({"ms":10})", ctx);
  BOOST_REQUIRE(o.r && o.r->has_value());
  BOOST_TEST(!o.r->value().is_error);
}

BOOST_AUTO_TEST_CASE(throwing_handler_is_a_tool_error_even_with_a_deadline) {
  tool_host host({});
  tool_spec s;
  s.name = "thrower";
  s.input_schema = json::parse(R"({"type":"object"})").as_object();
  s.handler = throws;
  host.add(std::move(s));
  tool_context ctx;
  ctx.deadline = clock_type::now() + std::chrono::seconds(30);
  auto o = run_call(host, "thrower", "{}", ctx);
  BOOST_REQUIRE(o.r && o.r->has_value());
  BOOST_TEST(o.r->value().is_error);
  BOOST_TEST(text_of(o.r->value()).find("boom") != std::string::npos);
  BOOST_TEST(o.took < milliseconds(5000));  // did not wait for the 30 s deadline
}

BOOST_AUTO_TEST_CASE(status_reports_counts) {
  tool_host host(diag());
  host.session_opened();
  run_call(host, "echo", R"({"text":"a"})");
  run_call(host, "fail", R"({"message":"b"})");
  run_call(host, "delay", R"({"ms":10000})", {}, milliseconds(20));
  auto o = run_call(host, "status", "{}");
  BOOST_REQUIRE(o.r && o.r->has_value());
  const auto& st = *o.r->value().structured;
  BOOST_TEST(st.at("completed").to_number<int>() == 1);
  BOOST_TEST(st.at("failed").to_number<int>() == 1);
  BOOST_TEST(st.at("cancelled").to_number<int>() == 1);
  BOOST_TEST(st.at("in_flight").to_number<int>() == 1);  // the status call itself
  BOOST_TEST(st.at("sessions").to_number<int>() == 1);
  BOOST_TEST(st.at("tools").as_array().size() == 7u);
  BOOST_TEST(st.at("providers").as_array().empty());  // no registry: tests/component/models covers one
  BOOST_TEST(st.at("uptime_s").is_uint64());
  // The text block carries the same document for text-only clients.
  BOOST_TEST(json::parse(text_of(o.r->value())) == json::value(st));
}

BOOST_AUTO_TEST_CASE(listmodels_empty_names_the_variables_to_set) {
  tool_host host({});
  auto o = run_call(host, "listmodels", "{}");
  BOOST_REQUIRE(o.r && o.r->has_value());
  const auto& st = *o.r->value().structured;
  BOOST_TEST(st.at("models").as_array().empty());
  // An environment variable both the daemon and the gateway read (issue 20: not a config key).
  BOOST_TEST(std::string(st.at("hint").as_string()).find("GLM_API_KEY") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(version_names_the_daemon) {
  tool_host host({});
  auto o = run_call(host, "version", "{}");
  BOOST_REQUIRE(o.r && o.r->has_value());
  auto doc = json::parse(text_of(o.r->value())).as_object();
  BOOST_TEST(doc.at("status") == "success");
  BOOST_TEST(std::string(doc.at("content").as_string()).find("exai-daemon " + std::string(daemon_version())) == 2u);
  BOOST_TEST(o.r->value().structured->at("version").as_string() == json::string_view(daemon_version()));
}

BOOST_AUTO_TEST_CASE(core_tools_reject_arguments) {
  tool_host host({});
  auto o = run_call(host, "status", R"({"x":1})");
  BOOST_REQUIRE(o.r && o.r->has_error());
  BOOST_TEST(static_cast<int>(o.r->error().code) == static_cast<int>(errc::invalid_params));
}

// ---- CPU-bound tools run on the host's workers -------------------------------------------------

namespace {

// A CPU-bound test tool: holds its worker until `release` is set, and counts the runs that began.
struct spin_probe {
  std::atomic<bool> release{false};
  std::atomic<int> runs{0};
};

tool_spec spin_tool(std::shared_ptr<spin_probe> probe) {
  tool_spec s;
  s.name = "spin";
  s.input_schema = json::parse(R"({"type":"object"})").as_object();
  s.cpu_handler = [probe](json::object, const cpu_control&) {
    ++probe->runs;
    while (!probe->release.load()) std::this_thread::sleep_for(milliseconds(1));
    return tool_result::text("spun");
  };
  return s;
}

// A host with one CPU worker and the spin tool, and an io_context for the calls (declared last:
// destroyed first, while the host is still there).
struct one_spin_worker {
  static tool_host::options one_worker() {
    auto o = diag();
    o.cpu_workers = 1;
    return o;
  }
  one_spin_worker() { host.add(spin_tool(probe)); }
  tool_host host{one_worker()};
  std::shared_ptr<spin_probe> probe = std::make_shared<spin_probe>();
  asio::io_context ioc;
};

struct timed_outcome {
  std::optional<result<tool_result>> r;
  clock_type::time_point at{};
};

void spawn_call(asio::io_context& ioc, tool_host& host, std::string name, std::string_view args,
                timed_outcome& out, asio::cancellation_signal* sig = nullptr, tool_context ctx = {}) {
  auto done = [&out](std::exception_ptr e, result<tool_result> r) {
    if (e) std::rethrow_exception(e);
    out.r = std::move(r);
    out.at = clock_type::now();
  };
  auto op = host.async_call(std::move(name), json::parse(args).as_object(), std::move(ctx));
  if (sig)
    asio::co_spawn(ioc, std::move(op), asio::bind_cancellation_slot(sig->slot(), std::move(done)));
  else
    asio::co_spawn(ioc, std::move(op), std::move(done));
}

}  // namespace

BOOST_AUTO_TEST_CASE(small_calls_are_answered_while_large_blobs_are_built) {
  tool_host host(diag());
  asio::io_context ioc;
  std::vector<std::string> order;
  timed_outcome b1, b2, e;
  spawn_call(ioc, host, "blob", R"({"bytes":67108864})", b1);
  spawn_call(ioc, host, "blob", R"({"bytes":67108864})", b2);
  spawn_call(ioc, host, "echo", R"({"text":"quick"})", e);
  ioc.run_for(std::chrono::seconds(30));
  BOOST_REQUIRE(b1.r && b1.r->has_value());
  BOOST_REQUIRE(b2.r && b2.r->has_value());
  BOOST_REQUIRE(e.r && e.r->has_value());
  // Built on the workers: the echo, called last, is answered before either blob.
  BOOST_TEST((e.at < b1.at && e.at < b2.at));
  const auto text = text_of(b1.r->value());
  BOOST_TEST(text.size() == 67108864u);
  BOOST_TEST(text.substr(0, 28) == "abcdefghijklmnopqrstuvwxyzab");
  BOOST_TEST(text.substr(text.size() - 5) == "zabcd");  // 2^26 = 26 * 2581110 + 4
  BOOST_TEST(host.stats().completed == 3u);
}

BOOST_FIXTURE_TEST_CASE(a_cancelled_cpu_bound_call_ends_at_once_and_is_skipped_if_not_started, one_spin_worker) {
  asio::cancellation_signal sig;
  timed_outcome first, second;
  const auto start = clock_type::now();
  spawn_call(ioc, host, "spin", "{}", first);          // holds the only worker
  spawn_call(ioc, host, "spin", "{}", second, &sig);   // queued behind it
  asio::steady_timer cancel(ioc, milliseconds(30)), release(ioc, milliseconds(300));
  cancel.async_wait([&](boost::system::error_code) { sig.emit(asio::cancellation_type::terminal); });
  release.async_wait([&](boost::system::error_code) { probe->release = true; });
  ioc.run_for(std::chrono::seconds(20));
  BOOST_REQUIRE(second.r && second.r->has_error());
  BOOST_TEST(static_cast<int>(second.r->error().code) == static_cast<int>(errc::cancelled));
  BOOST_TEST((second.at - start < milliseconds(250)));  // did not wait for the worker
  BOOST_REQUIRE(first.r && first.r->has_value());
  BOOST_TEST(text_of(first.r->value()) == "spun");
  BOOST_TEST(probe->runs.load() == 1);  // the cancelled one never started
  BOOST_TEST(host.stats().cancelled == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_cpu_bound_call_past_its_deadline_is_a_timeout, one_spin_worker) {
  timed_outcome out;
  tool_context ctx;
  const auto start = clock_type::now();
  ctx.deadline = start + milliseconds(40);
  spawn_call(ioc, host, "spin", "{}", out, nullptr, ctx);
  asio::steady_timer release(ioc, milliseconds(400));
  release.async_wait([&](boost::system::error_code) { probe->release = true; });
  ioc.run_for(std::chrono::seconds(20));
  BOOST_REQUIRE(out.r && out.r->has_error());
  BOOST_TEST(static_cast<int>(out.r->error().code) == static_cast<int>(errc::timeout));
  BOOST_TEST((out.at - start < milliseconds(350)));
}

BOOST_AUTO_TEST_CASE(a_throwing_cpu_bound_body_is_a_tool_error) {
  tool_host host({});
  tool_spec s;
  s.name = "cpu_thrower";
  s.input_schema = json::parse(R"({"type":"object"})").as_object();
  s.cpu_handler = [](json::object, const cpu_control&) -> tool_result { throw std::runtime_error("bang"); };
  host.add(std::move(s));
  auto o = run_call(host, "cpu_thrower", "{}");
  BOOST_REQUIRE(o.r && o.r->has_value());
  BOOST_TEST(o.r->value().is_error);
  BOOST_TEST(text_of(o.r->value()).find("bang") != std::string::npos);
}
