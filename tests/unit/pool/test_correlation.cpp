// The correlation table (issue 5, house-style 7): which entry a daemon message belongs to, in
// multiplexed mode (by id only) and serial mode (id-less messages belong to the oldest request).
#include "gateway/pool/correlation.hpp"

#include <boost/test/unit_test.hpp>

using namespace exai::gateway::pool;
namespace op = exai::codecs::op;
using table = correlation_table<int>;
using clock_t_ = table::clock;

namespace {
op::call_tool_res res(std::optional<std::string> id) {
  op::call_tool_res r;
  r.request_id = std::move(id);
  r.outputs = boost::json::array{};
  return r;
}
op::error_msg err(std::optional<std::string> id, bool bare, std::string code = "TOOL_NOT_FOUND") {
  op::error_msg e;
  e.request_id = std::move(id);
  e.bare = bare;
  e.error.code = std::move(code);
  e.error.message = "m";
  return e;
}
op::progress prog(std::optional<std::string> id) {
  op::progress p;
  p.request_id = std::move(id);
  p.message = "Tool execution in progress...";
  return p;
}
op::cancelled cancelled(std::string id) {
  op::cancelled c;
  c.request_id = std::move(id);
  return c;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(correlation_multiplexed)

BOOST_AUTO_TEST_CASE(replies_match_by_id_in_any_order) {
  table t;
  t.add("a", 1);
  t.add("b", 2);
  t.add("c", 3);
  auto r = t.route(res("b"));
  BOOST_TEST((r.what == verdict::result));
  BOOST_TEST(*r.waiter == 2);
  BOOST_TEST(r.id == "b");
  r = t.route(err("c", false));
  BOOST_TEST((r.what == verdict::result));
  BOOST_TEST(*r.waiter == 3);
  BOOST_TEST(t.size() == 1u);
  BOOST_TEST(t.live() == 1u);
  BOOST_TEST(t.find("a") != nullptr);
}

BOOST_AUTO_TEST_CASE(unknown_and_idless_replies_are_dropped) {
  table t;
  t.add("a", 1);
  BOOST_TEST((t.route(res("zzz")).what == verdict::unknown));
  BOOST_TEST((t.route(res(std::nullopt)).what == verdict::unknown));
  BOOST_TEST((t.route(err(std::nullopt, true)).what == verdict::unknown));
  BOOST_TEST(t.size() == 1u);  // untouched
}

BOOST_AUTO_TEST_CASE(abandoned_entry_late_reply_is_counted_once) {
  table t;
  t.add("a", 1);
  const auto now = clock_t_::now();
  BOOST_TEST(t.abandon("a", now));
  BOOST_TEST(!t.abandon("a", now));  // already abandoned
  BOOST_TEST(t.live() == 0u);
  BOOST_TEST(t.abandoned() == 1u);
  BOOST_TEST(t.size() == 1u);       // still occupies the connection
  auto r = t.route(res("a"));
  BOOST_TEST((r.what == verdict::late));
  BOOST_TEST(!r.waiter.has_value());
  BOOST_TEST(t.empty());
  BOOST_TEST((t.route(res("a")).what == verdict::unknown));  // a second result for the same id
}

BOOST_AUTO_TEST_CASE(cancel_outcomes) {
  table t;
  t.add("a", 1);
  t.add("b", 2);
  t.abandon("a", clock_t_::now());
  BOOST_TEST((t.route(cancelled("a")).what == verdict::cancel_ack));
  auto r = t.route(cancelled("b"));  // the daemon cancelled a call we still wait for
  BOOST_TEST((r.what == verdict::cancelled));
  BOOST_TEST(*r.waiter == 2);
  BOOST_TEST((t.route(cancelled("nope")).what == verdict::ignored));
  BOOST_TEST(t.empty());
}

BOOST_AUTO_TEST_CASE(progress_goes_to_live_entries_only) {
  table t;
  t.add("a", 1);
  t.add("b", 2);
  auto r = t.route(prog("a"));
  BOOST_TEST((r.what == verdict::progress));
  BOOST_TEST(*r.waiter == 1);
  BOOST_TEST(t.size() == 2u);  // kept
  t.abandon("b", clock_t_::now());
  BOOST_TEST((t.route(prog("b")).what == verdict::ignored));
  BOOST_TEST((t.route(prog("x")).what == verdict::ignored));
  BOOST_TEST((t.route(prog(std::nullopt)).what == verdict::ignored));
}

BOOST_AUTO_TEST_CASE(non_results_never_complete_a_call) {
  table t;
  t.add("a", 1);
  op::stream_complete sc;
  sc.request_id = "a";
  op::call_tool_ack ack;
  ack.request_id = "a";
  ack.timeout_s = 900;
  op::stream_chunk ch;
  ch.request_id = "a";
  op::pong pong;
  pong.request_id = "a";
  op::hello_ack hello;
  hello.ok = true;
  for (const op::server_message& m : {op::server_message(sc), op::server_message(ack), op::server_message(ch),
                                      op::server_message(pong), op::server_message(hello)}) {
    BOOST_TEST((t.route(m).what == verdict::ignored));
  }
  BOOST_TEST(t.live() == 1u);
}

BOOST_AUTO_TEST_CASE(loss_fails_live_entries_in_send_order_and_forgets_abandoned) {
  table t;
  for (int i = 0; i < 10; ++i) t.add("id" + std::to_string(i), i);
  t.abandon("id3", clock_t_::now());
  t.abandon("id7", clock_t_::now());
  auto live = t.take_all_live();
  BOOST_TEST(live.size() == 8u);
  BOOST_TEST(live.front() == 0);
  BOOST_TEST(live.back() == 9);
  BOOST_TEST(std::is_sorted(live.begin(), live.end()));
  BOOST_TEST(t.empty());
  BOOST_TEST(t.live() == 0u);
}

BOOST_AUTO_TEST_CASE(expiry_of_abandoned_entries) {
  table t;
  const auto t0 = clock_t_::now();
  t.add("a", 1);
  t.add("b", 2);
  t.add("c", 3);
  t.abandon("a", t0);
  t.abandon("b", t0 + std::chrono::seconds(5));
  auto e = t.expired(t0 + std::chrono::seconds(10), std::chrono::seconds(10));
  BOOST_TEST(e.size() == 1u);
  BOOST_TEST(e.front() == "a");
  BOOST_TEST(t.expired(t0 + std::chrono::seconds(9), std::chrono::seconds(10)).empty());
  BOOST_TEST(t.expired(t0 + std::chrono::seconds(20), std::chrono::seconds(10)).size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(correlation_serial)

BOOST_AUTO_TEST_CASE(idless_errors_belong_to_the_current_call) {
  table t(true);
  t.add("a", 1);
  auto r = t.route(err(std::nullopt, true));  // bare {"error":{...}}
  BOOST_TEST((r.what == verdict::result));
  BOOST_TEST(*r.waiter == 1);
  t.add("b", 2);
  r = t.route(err(std::nullopt, false, "OVER_CAPACITY"));  // rate limit: op error, no id
  BOOST_TEST((r.what == verdict::result));
  BOOST_TEST(*r.waiter == 2);
  BOOST_TEST(t.empty());
}

BOOST_AUTO_TEST_CASE(idless_error_with_nothing_pending_is_unknown) {
  table t(true);
  BOOST_TEST((t.route(err(std::nullopt, false, "OVER_CAPACITY")).what == verdict::unknown));
}

BOOST_AUTO_TEST_CASE(idless_list_reply_of_old_daemons_matches_current) {
  table t(true);
  t.add("list", 7);
  op::list_tools_res l;  // old daemons omit request_id
  auto r = t.route(l);
  BOOST_TEST((r.what == verdict::result));
  BOOST_TEST(*r.waiter == 7);
}

BOOST_AUTO_TEST_CASE(oldest_unanswered_wins_when_several_are_pending) {
  table t(true);
  t.add("a", 1);
  t.add("b", 2);
  auto r = t.route(err(std::nullopt, true));
  BOOST_TEST(*r.waiter == 1);
  BOOST_TEST(t.oldest()->first == "b");
}

BOOST_AUTO_TEST_CASE(a_reply_with_another_id_is_not_the_current_calls) {
  table t(true);
  t.add("a", 1);
  BOOST_TEST((t.route(res("other")).what == verdict::unknown));
  BOOST_TEST(t.live() == 1u);
}

BOOST_AUTO_TEST_CASE(reference_sequence_progress_stream_complete_then_result) {
  table t(true);
  t.add("a", 1);
  BOOST_TEST((t.route(prog("a")).what == verdict::progress));
  op::stream_complete sc;
  sc.request_id = "a";
  BOOST_TEST((t.route(sc).what == verdict::ignored));
  BOOST_TEST(t.live() == 1u);
  auto r = t.route(res("a"));
  BOOST_TEST((r.what == verdict::result));
  BOOST_TEST(t.empty());
}

// The serial connection's life with an abandoned call: busy until the late reply, then idle.
BOOST_AUTO_TEST_CASE(abandoned_call_holds_the_connection_until_its_late_reply) {
  table t(true);
  t.add("a", 1);
  t.abandon("a", clock_t_::now());
  BOOST_TEST(t.size() == 1u);  // busy: dispatch must not use this connection
  BOOST_TEST((t.route(prog(std::nullopt)).what == verdict::ignored));
  op::stream_complete sc;
  BOOST_TEST((t.route(sc).what == verdict::ignored));
  BOOST_TEST(t.size() == 1u);
  BOOST_TEST((t.route(err(std::nullopt, true, "TOOL_EXECUTION_ERROR")).what == verdict::late));
  BOOST_TEST(t.empty());  // idle again
}

BOOST_AUTO_TEST_SUITE_END()
