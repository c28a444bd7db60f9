// The handshake and per-message decisions of one connection, without sockets (issue 3:
// "session state machine"). Close codes and replies follow exai-op-protocol.md sections 1-4.
#include "daemon/session.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

namespace json = boost::json;
using namespace exai::daemon;

namespace {

session_settings open_settings() { return session_settings{}; }

session_settings with_token(std::string t) {
  session_settings s;
  s.token = std::move(t);
  return s;
}

session opened(session_settings s = {}, std::string_view hello = R"({"op":"hello","capabilities":{"multiplex":true,"cancel":true,"progress":true}})") {
  session x(std::move(s), "s-generated");
  auto step = x.on_first_message(hello);
  BOOST_REQUIRE(!step.close);
  return x;
}

}  // namespace

BOOST_TEST_DONT_PRINT_LOG_VALUE(exai::daemon::session::phase)
BOOST_TEST_DONT_PRINT_LOG_VALUE(exai::daemon::session::admission)

BOOST_AUTO_TEST_SUITE(session_handshake)

BOOST_AUTO_TEST_CASE(plain_hello_gets_ok_and_a_generated_id) {
  session s(open_settings(), "s-abc123");
  auto step = s.on_first_message(R"({"op":"hello","token":""})");
  BOOST_REQUIRE(step.reply);
  BOOST_TEST(!step.close);
  BOOST_TEST(step.reply->at("op") == "hello_ack");
  BOOST_TEST(step.reply->at("ok") == true);
  BOOST_TEST(step.reply->at("session_id") == "s-abc123");
  // Nothing asked, nothing granted; the ack still says so, with our identity.
  const auto& caps = step.reply->at("capabilities").as_object();
  BOOST_TEST(caps.at("multiplex") == false);
  BOOST_TEST(caps.at("cancel") == false);
  BOOST_TEST(!caps.contains("max_inflight"));
  BOOST_TEST(step.reply->at("server").as_object().at("name") == "exai-daemon");
  BOOST_TEST(s.state() == session::phase::open);
  BOOST_TEST(s.serial());
}

BOOST_AUTO_TEST_CASE(capabilities_are_granted_as_asked) {
  session s(open_settings(), "s-x");
  auto step = s.on_first_message(
      R"({"op":"hello","session_id":"gw-3f9c2a1b","capabilities":{"multiplex":true,"cancel":true,"progress":false}})");
  BOOST_REQUIRE(step.reply);
  BOOST_TEST(step.reply->at("session_id") == "gw-3f9c2a1b");
  const auto& caps = step.reply->at("capabilities").as_object();
  BOOST_TEST(caps.at("multiplex") == true);
  BOOST_TEST(caps.at("max_inflight") == 256);
  BOOST_TEST(caps.at("cancel") == true);
  BOOST_TEST(caps.at("progress") == false);
  BOOST_TEST(!s.serial());
  BOOST_TEST(s.granted().cancel);
  BOOST_TEST(!s.granted().progress);
}

BOOST_AUTO_TEST_CASE(compat_reference_grants_nothing_and_says_nothing) {
  session_settings st;
  st.compat_reference = true;
  session s(st, "s-x");
  auto step = s.on_first_message(R"({"op":"hello","capabilities":{"multiplex":true,"cancel":true}})");
  BOOST_REQUIRE(step.reply);
  BOOST_TEST(step.reply->at("ok") == true);
  BOOST_TEST(!step.reply->contains("capabilities"));
  BOOST_TEST(!step.reply->contains("server"));
  BOOST_TEST(s.serial());
  BOOST_TEST(!s.granted().cancel);
}

BOOST_AUTO_TEST_CASE(not_json_closes_4000_without_reply) {
  session s(open_settings(), "s-x");
  auto step = s.on_first_message("{nope");
  BOOST_TEST(!step.reply);
  BOOST_REQUIRE(step.close);
  BOOST_TEST(static_cast<int>(*step.close) == 4000);
  BOOST_TEST(s.state() == session::phase::closed);
}

BOOST_AUTO_TEST_CASE(first_not_hello_is_missing_hello_4001) {
  for (auto text : {R"({"op":"ping","request_id":"1"})", R"([1,2])", R"({"hello":true})", "42"}) {
    session s(open_settings(), "s-x");
    auto step = s.on_first_message(text);
    BOOST_REQUIRE(step.reply);
    BOOST_TEST(step.reply->at("ok") == false);
    BOOST_TEST(step.reply->at("error") == "missing_hello");
    BOOST_REQUIRE(step.close);
    BOOST_TEST(static_cast<int>(*step.close) == 4001);
  }
}

BOOST_AUTO_TEST_CASE(bad_token_is_unauthorized_4003) {
  session s(with_token("s3cret"), "s-x");
  auto step = s.on_first_message(R"({"op":"hello","token":"s3cre"})");
  BOOST_REQUIRE(step.reply);
  BOOST_TEST(step.reply->at("error") == "unauthorized");
  BOOST_TEST(static_cast<int>(*step.close) == 4003);
  session missing(with_token("s3cret"), "s-x");
  BOOST_TEST(static_cast<int>(*missing.on_first_message(R"({"op":"hello"})").close) == 4003);
  session good(with_token("s3cret"), "s-x");
  BOOST_TEST(!good.on_first_message(R"({"op":"hello","token":"s3cret"})").close);
}

BOOST_AUTO_TEST_CASE(token_is_checked_before_the_session_id) {
  session s(with_token("t"), "s-x");
  auto step = s.on_first_message(R"({"op":"hello","token":"wrong","session_id":"!"})");
  BOOST_TEST(step.reply->at("error") == "unauthorized");
}

BOOST_AUTO_TEST_CASE(malformed_session_id_is_answered) {
  for (auto id : {"ab", "has space", "x/y", "ünïcode", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}) {
    session s(open_settings(), "s-x");
    json::object hello = {{"op", "hello"}, {"session_id", id}};
    auto step = s.on_first_message(json::serialize(hello));
    BOOST_REQUIRE(step.reply);
    BOOST_TEST(step.reply->at("ok") == false);
    BOOST_TEST(step.reply->at("error") == "invalid_session_id");
    BOOST_TEST(static_cast<int>(*step.close) == 4001);
  }
}

BOOST_AUTO_TEST_CASE(hello_with_wrong_field_types_is_refused) {
  session s(open_settings(), "s-x");
  auto step = s.on_first_message(R"({"op":"hello","token":5})");
  BOOST_REQUIRE(step.reply);
  BOOST_TEST(step.reply->at("error") == "invalid_hello");
  BOOST_TEST(static_cast<int>(*step.close) == 4001);
}

BOOST_AUTO_TEST_CASE(hello_timeout_closes_4002_only_while_waiting) {
  session s(open_settings(), "s-x");
  auto step = s.on_hello_timeout();
  BOOST_REQUIRE(step.close);
  BOOST_TEST(static_cast<int>(*step.close) == 4002);
  auto later = opened();
  BOOST_TEST(!later.on_hello_timeout().close);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(session_messages)

BOOST_AUTO_TEST_CASE(requests_are_classified) {
  auto s = opened();
  auto l = s.classify(R"({"op":"list_tools","request_id":"r1"})");
  BOOST_REQUIRE(std::holds_alternative<req::list_tools>(l));
  BOOST_TEST(*std::get<req::list_tools>(l).request_id == "r1");
  auto p = s.classify(R"({"op":"ping","request_id":"r2"})");
  BOOST_REQUIRE(std::holds_alternative<req::ping>(p));
  auto c = s.classify(R"({"op":"call_tool","request_id":"r3","name":"echo","arguments":{"text":"hi"}})");
  BOOST_REQUIRE(std::holds_alternative<req::call>(c));
  BOOST_TEST(std::get<req::call>(c).name == "echo");
  BOOST_TEST(std::get<req::call>(c).arguments.at("text") == "hi");
  auto legacy = s.classify(R"({"op":"tool_call","request_id":"r4","tool":{"name":"echo"},"arguments":{"text":"x"}})");
  BOOST_REQUIRE(std::holds_alternative<req::call>(legacy));
  BOOST_TEST(std::get<req::call>(legacy).name == "echo");
  auto k = s.classify(R"({"op":"cancel","request_id":"r3"})");
  BOOST_REQUIRE(std::holds_alternative<req::cancel>(k));
  BOOST_TEST(std::get<req::cancel>(k).request_id == "r3");
}

BOOST_AUTO_TEST_CASE(bad_json_is_an_op_error_with_null_request_id) {
  auto s = opened();
  auto r = s.classify("{\"op\":");
  BOOST_REQUIRE(std::holds_alternative<req::reply>(r));
  const auto& m = std::get<req::reply>(r).msg;
  BOOST_TEST(m.at("op") == "error");
  BOOST_TEST(m.at("request_id").is_null());
  BOOST_TEST(m.at("error").as_object().at("code") == "INVALID_REQUEST");
}

BOOST_AUTO_TEST_CASE(unknown_op_names_op_and_request_id) {
  auto s = opened();
  auto r = s.classify(R"({"op":"frobnicate","request_id":"r9"})");
  BOOST_REQUIRE(std::holds_alternative<req::reply>(r));
  const auto& m = std::get<req::reply>(r).msg;
  BOOST_TEST(m.at("op") == "error");
  BOOST_TEST(m.at("request_id") == "r9");
  BOOST_TEST(m.at("error").as_object().at("code") == "NOT_FOUND");
}

BOOST_AUTO_TEST_CASE(bad_calls_are_call_tool_res_errors) {
  auto s = opened();
  auto no_name = s.classify(R"({"op":"call_tool","request_id":"r1","arguments":{}})");
  BOOST_REQUIRE(std::holds_alternative<req::reply>(no_name));
  BOOST_TEST(std::get<req::reply>(no_name).msg.at("op") == "call_tool_res");
  BOOST_TEST(std::get<req::reply>(no_name).msg.at("request_id") == "r1");
  auto bad_args = s.classify(R"({"op":"call_tool","request_id":"r2","name":"echo","arguments":[1]})");
  BOOST_REQUIRE(std::holds_alternative<req::reply>(bad_args));
  BOOST_TEST(std::get<req::reply>(bad_args).msg.at("error").as_object().at("code") == "VALIDATION_ERROR");
  auto no_id = s.classify(R"({"op":"call_tool","name":"echo","arguments":{}})");
  BOOST_REQUIRE(std::holds_alternative<req::reply>(no_id));
  BOOST_TEST(std::get<req::reply>(no_id).msg.at("op") == "call_tool_res");
  BOOST_TEST(std::get<req::reply>(no_id).msg.at("request_id").is_null());
  // A non-string id is echoed verbatim so the client can still correlate.
  auto num_id = s.classify(R"({"op":"call_tool","request_id":7,"name":"echo"})");
  BOOST_REQUIRE(std::holds_alternative<req::reply>(num_id));
  BOOST_TEST(std::get<req::reply>(num_id).msg.at("request_id") == 7);
}

BOOST_AUTO_TEST_CASE(second_hello_and_idless_cancel_are_errors) {
  auto s = opened();
  auto h = s.classify(R"({"op":"hello","request_id":"h"})");
  BOOST_REQUIRE(std::holds_alternative<req::reply>(h));
  BOOST_TEST(std::get<req::reply>(h).msg.at("op") == "error");
  BOOST_TEST(std::get<req::reply>(h).msg.at("request_id") == "h");
  auto c = s.classify(R"({"op":"cancel"})");
  BOOST_REQUIRE(std::holds_alternative<req::reply>(c));
  BOOST_TEST(std::get<req::reply>(c).msg.at("request_id").is_null());
}

BOOST_AUTO_TEST_CASE(admission_of_multiplexed_calls) {
  session_settings st;
  st.max_inflight = 2;
  auto s = opened(st);
  BOOST_TEST(s.admit("a") == session::admission::ok);
  BOOST_TEST(s.admit("a") == session::admission::duplicate);
  BOOST_TEST(s.admit("b") == session::admission::ok);
  BOOST_TEST(s.admit("c") == session::admission::over_capacity);
  s.finished("a");
  BOOST_TEST(s.admit("a") == session::admission::ok);  // reuse after completion is fine
  BOOST_TEST(s.in_flight_count() == 2u);
  s.begin_shutdown();
  s.finished("b");
  BOOST_TEST(s.admit("d") == session::admission::shutting_down);
}

BOOST_AUTO_TEST_SUITE_END()
