// The pool's pure decisions (issue 5, house-style 12): mode from the ack, least-loaded dispatch,
// queue admission, serial growth within the per-address cap, 1008 refusals, abandoned calls, and
// how daemon errors become results or errors.
#include "gateway/pool/policy.hpp"

#include <boost/test/unit_test.hpp>

#include <vector>

using namespace exai::gateway::pool;
namespace op = exai::codecs::op;
using exai::codecs::errc;

BOOST_AUTO_TEST_SUITE(mode)

BOOST_AUTO_TEST_CASE(reference_ack_without_capabilities_is_serial) {
  op::hello_ack ack;
  ack.ok = true;
  ack.session_id = "gw-1";
  auto d = decide_mode(ack, 64);
  BOOST_TEST((d.mode == conn_mode::serial));
  BOOST_TEST(d.max_inflight == 1u);
  BOOST_TEST(!d.cancel);
}

BOOST_AUTO_TEST_CASE(granted_multiplex_uses_max_inflight) {
  op::hello_ack ack;
  ack.ok = true;
  ack.caps = op::capabilities{true, true, true, 256, std::nullopt};
  auto d = decide_mode(ack, 64);
  BOOST_TEST((d.mode == conn_mode::multiplexed));
  BOOST_TEST(d.max_inflight == 256u);
  BOOST_TEST(d.cancel);
  BOOST_TEST(d.progress);
}

BOOST_AUTO_TEST_CASE(multiplex_without_max_inflight_uses_default_and_cancel_only_if_granted) {
  op::hello_ack ack;
  ack.ok = true;
  ack.caps = op::capabilities{true, false, false, std::nullopt, std::nullopt};
  auto d = decide_mode(ack, 64);
  BOOST_TEST((d.mode == conn_mode::multiplexed));
  BOOST_TEST(d.max_inflight == 64u);
  BOOST_TEST(!d.cancel);
  ack.caps->max_inflight = 0;  // nonsense from a daemon: still at least one
  BOOST_TEST(decide_mode(ack, 64).max_inflight == 1u);
}

BOOST_AUTO_TEST_CASE(capabilities_without_multiplex_are_serial) {
  op::hello_ack ack;
  ack.ok = true;
  ack.caps = op::capabilities{false, true, true, 100, std::nullopt};
  auto d = decide_mode(ack, 64);
  BOOST_TEST((d.mode == conn_mode::serial));
  BOOST_TEST(d.max_inflight == 1u);
  BOOST_TEST(!d.cancel);  // a serial daemon would read the cancel only after the call anyway
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(dispatch)

BOOST_AUTO_TEST_CASE(least_loaded_ready_connection_with_room) {
  std::vector<conn_view> c{{true, 5, 256}, {true, 2, 256}, {false, 0, 256}, {true, 3, 256}};
  BOOST_TEST(*pick_connection(c, 0) == 1u);
  c[1].load = 256;  // full
  BOOST_TEST(*pick_connection(c, 0) == 3u);
}

BOOST_AUTO_TEST_CASE(none_when_all_full_or_down) {
  std::vector<conn_view> c{{true, 1, 1}, {false, 0, 1}, {true, 1, 1}};
  BOOST_TEST(!pick_connection(c, 0).has_value());
  BOOST_TEST(!pick_connection(std::vector<conn_view>{}, 0).has_value());
}

BOOST_AUTO_TEST_CASE(ties_rotate_with_the_start_index) {
  std::vector<conn_view> c{{true, 0, 1}, {true, 0, 1}, {true, 0, 1}};
  BOOST_TEST(*pick_connection(c, 0) == 0u);
  BOOST_TEST(*pick_connection(c, 1) == 1u);
  BOOST_TEST(*pick_connection(c, 5) == 2u);
}

BOOST_AUTO_TEST_CASE(abandoned_calls_count_as_load_in_serial_mode) {
  // An abandoned serial call leaves load 1 on its connection: capacity 1 means busy.
  std::vector<conn_view> c{{true, 1, 1}, {true, 0, 1}};
  BOOST_TEST(*pick_connection(c, 0) == 1u);
}

BOOST_AUTO_TEST_CASE(admission_is_bounded) {
  BOOST_TEST((admit(true, 9999, 10) == admission::dispatch));
  BOOST_TEST((admit(false, 0, 10) == admission::enqueue));
  BOOST_TEST((admit(false, 9, 10) == admission::enqueue));
  BOOST_TEST((admit(false, 10, 10) == admission::reject));
  BOOST_TEST((admit(false, 0, 0) == admission::reject));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(serial_pool)

BOOST_AUTO_TEST_CASE(grows_for_waiting_calls_up_to_the_cap) {
  endpoint_view ep{true, 4, 0, 0, 10};
  BOOST_TEST(serial_growth(ep, 1) == 1u);
  BOOST_TEST(serial_growth(ep, 3) == 3u);
  BOOST_TEST(serial_growth(ep, 100) == 6u);  // 4 open + 6 = the cap of 10
  ep.open = 10;
  BOOST_TEST(serial_growth(ep, 100) == 0u);
}

BOOST_AUTO_TEST_CASE(connections_on_their_way_or_idle_cover_demand) {
  endpoint_view ep{true, 6, 2, 1, 10};
  BOOST_TEST(serial_growth(ep, 3) == 0u);
  BOOST_TEST(serial_growth(ep, 5) == 2u);
}

BOOST_AUTO_TEST_CASE(multiplexed_addresses_never_grow) {
  endpoint_view ep{false, 4, 0, 0, 10};
  BOOST_TEST(serial_growth(ep, 1000) == 0u);
}

BOOST_AUTO_TEST_CASE(refusal_1008_caps_the_address) {
  auto d = on_refused(7, 10);
  BOOST_TEST(d.retire);
  BOOST_TEST(d.new_cap == 7u);
  d = on_refused(0, 10);  // alone: keep retrying with backoff
  BOOST_TEST(!d.retire);
  BOOST_TEST(d.new_cap == 10u);
  d = on_refused(12, 10);
  BOOST_TEST(d.new_cap == 10u);
}

BOOST_AUTO_TEST_CASE(abandoned_call_timeout_closes_serial_and_frees_multiplexed) {
  BOOST_TEST((housekeeping_action(conn_mode::serial, 0) == housekeeping::nothing));
  BOOST_TEST((housekeeping_action(conn_mode::serial, 1) == housekeeping::close_connection));
  BOOST_TEST((housekeeping_action(conn_mode::multiplexed, 3) == housekeeping::drop_expired));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(outcomes)

namespace {
op::wire_error werr(std::string code, std::string message) {
  op::wire_error e;
  e.code = std::move(code);
  e.message = std::move(message);
  return e;
}
}  // namespace

BOOST_AUTO_TEST_CASE(unknown_tool_and_bad_arguments_are_errors) {
  auto r = call_outcome(werr("TOOL_NOT_FOUND", "Tool not found: x"));
  BOOST_TEST_REQUIRE(r.has_error());
  BOOST_TEST((r.error().code == errc::tool_not_found));
  BOOST_TEST(*r.error().upstream_code == "TOOL_NOT_FOUND");
  // The daemon's words are kept apart from ours.
  BOOST_TEST(r.error().message.find("Tool not found") == std::string::npos);
  BOOST_TEST(r.error().data->as_object().at("upstream").as_object().at("message").as_string() == "Tool not found: x");
  r = call_outcome(werr("VALIDATION_ERROR", "Missing text"));
  BOOST_TEST((r.error().code == errc::invalid_params));
  // Issue 14: the field detail reaches the client's message, as from the embedded backend.
  BOOST_TEST(r.error().message.find("Missing text") != std::string::npos, r.error().message);
  r = call_outcome(werr("VALIDATION_ERROR", std::string(100000, 'v')));
  BOOST_TEST(r.error().message.size() < 700u);  // bounded, however long the daemon's text
}

BOOST_AUTO_TEST_CASE(rate_limit_is_over_capacity) {
  auto r = call_outcome(werr("OVER_CAPACITY", "Rate limit exceeded"));
  BOOST_TEST_REQUIRE(r.has_error());
  BOOST_TEST((r.error().code == errc::over_capacity));
  BOOST_TEST(r.error().message.find("OVER_CAPACITY") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(tool_failures_are_error_results) {
  for (const char* code : {"TOOL_EXECUTION_ERROR", "TIMEOUT", "INTERNAL_ERROR", "PROVIDER_ERROR", "EXEC_ERROR"}) {
    auto r = call_outcome(werr(code, "boom"));
    BOOST_TEST_REQUIRE(r.has_value(), code);
    BOOST_TEST(r->is_error);
    BOOST_TEST(!r->content.empty());
  }
}

BOOST_AUTO_TEST_CASE(call_tool_res_with_outputs_or_error) {
  op::call_tool_res ok;
  ok.request_id = "a";
  ok.outputs = boost::json::array{boost::json::object{{"type", "text"}, {"text", "hi"}, {"metadata", boost::json::object{}}}};
  auto r = call_outcome(ok);
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(!r->is_error);
  BOOST_TEST(r->content.at(0).as_object().at("text").as_string() == "hi");
  op::call_tool_res over;
  over.request_id = "b";
  over.error = werr("OVER_CAPACITY", "max_inflight");
  BOOST_TEST((call_outcome(over).error().code == errc::over_capacity));
}

BOOST_AUTO_TEST_CASE(reference_failure_documents) {
  using exai::codecs::tool_result;
  BOOST_TEST(is_reference_failure_document(tool_result::text(R"({"status":"chat_failed","error":"x"})")));
  BOOST_TEST(is_reference_failure_document(tool_result::text(R"(  {"status": "error"})")));
  BOOST_TEST(!is_reference_failure_document(tool_result::text(R"({"status":"success","content":"ok"})")));
  BOOST_TEST(!is_reference_failure_document(tool_result::text(R"({"status":"_failed"})")));
  BOOST_TEST(!is_reference_failure_document(tool_result::text("plain text with status error")));
  BOOST_TEST(!is_reference_failure_document(tool_result::text("{not json")));
  BOOST_TEST(!is_reference_failure_document(tool_result::text(R"(["status","error"])")));
  BOOST_TEST(!is_reference_failure_document(tool_result{}));
}

BOOST_AUTO_TEST_SUITE_END()
