// The conversation store: ids, exchanges and their limit, TTL, byte budget and eviction, the
// per-thread state a workflow tool keeps, and concurrent appends on one thread.
#define BOOST_TEST_MODULE models_unit_memory_files
#include "daemon/models/conversation_store.hpp"

#include <boost/test/unit_test.hpp>

#include <regex>
#include <set>
#include <thread>

using namespace exai::daemon::models;
using exai::codecs::errc;
using namespace std::chrono_literals;

namespace {

turn text_turn(std::string s) {
  turn t;
  t.content = std::move(s);
  return t;
}

// A clock the test moves by hand.
struct manual_clock {
  std::shared_ptr<conversation_store::clock::time_point> now =
      std::make_shared<conversation_store::clock::time_point>(conversation_store::clock::now());
  std::function<conversation_store::clock::time_point()> fn() const {
    auto p = now;
    return [p] { return *p; };
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(ids_are_version_4_uuids_and_unique) {
  const std::regex uuid("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  conversation_store store;
  for (int i = 0; i < 200; ++i) {
    auto id = store.create("chat");
    BOOST_TEST(std::regex_match(id, uuid), id);
    seen.insert(id);
  }
  BOOST_TEST(seen.size() == 200u);
}

BOOST_AUTO_TEST_CASE(exchanges_are_kept_in_order_with_their_roles) {
  conversation_store store;
  auto id = store.create("chat");
  turn q = text_turn("question 1");
  q.files = {"/a/b.txt"};
  turn a = text_turn("answer 1");
  a.model = "glm-4.5";
  a.provider = "glm";
  BOOST_REQUIRE(store.add_exchange(id, q, a));
  BOOST_REQUIRE(store.add_exchange(id, text_turn("question 2"), text_turn("answer 2")));
  auto v = store.get(id);
  BOOST_REQUIRE(v);
  BOOST_TEST(v->tool_name == "chat");
  BOOST_TEST(v->exchanges == 2u);
  BOOST_REQUIRE(v->turns.size() == 4u);
  BOOST_TEST((v->turns[0].role == turn_role::user));
  BOOST_TEST((v->turns[1].role == turn_role::assistant));
  BOOST_TEST(v->turns[0].files.at(0) == "/a/b.txt");
  BOOST_TEST(v->turns[1].model == "glm-4.5");
  BOOST_TEST(v->turns[3].content == "answer 2");
  BOOST_TEST(store.remaining_exchanges(id) == 18u);
}

BOOST_AUTO_TEST_CASE(unknown_thread_is_an_error_naming_it) {
  conversation_store store;
  BOOST_TEST(!store.get("nope"));
  auto r = store.add_exchange("nope", text_turn("q"), text_turn("a"));
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST(r.error().message.find("'nope'") != std::string::npos);
  BOOST_TEST(store.remaining_exchanges("nope") == 0u);
}

BOOST_AUTO_TEST_CASE(twenty_exchanges_then_refused) {
  conversation_store store;
  auto id = store.create("chat");
  for (int i = 0; i < 20; ++i) BOOST_REQUIRE(store.add_exchange(id, text_turn("q"), text_turn("a")));
  BOOST_TEST(store.remaining_exchanges(id) == 0u);
  auto r = store.add_exchange(id, text_turn("q"), text_turn("a"));
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST((r.error().code == errc::over_capacity));
  BOOST_TEST(store.get(id)->turns.size() == 40u);
}

BOOST_AUTO_TEST_CASE(threads_expire_three_hours_after_their_last_update) {
  manual_clock clk;
  conversation_store::options o;
  o.now = clk.fn();
  conversation_store store(o);
  auto id = store.create("chat");
  *clk.now += 2h;
  BOOST_REQUIRE(store.add_exchange(id, text_turn("q"), text_turn("a")));  // refreshes the TTL
  *clk.now += 2h;
  BOOST_TEST(store.get(id).has_value());  // 4 h after creation, 2 h after the update
  *clk.now += 1h;
  BOOST_TEST(!store.get(id).has_value());
  BOOST_TEST(store.stats().expired == 1u);
  BOOST_TEST(store.stats().threads == 0u);
  BOOST_TEST(store.stats().bytes == 0u);
}

BOOST_AUTO_TEST_CASE(reading_does_not_extend_the_ttl) {
  manual_clock clk;
  conversation_store::options o;
  o.now = clk.fn();
  conversation_store store(o);
  auto id = store.create("chat");
  *clk.now += 2h + 59min;
  BOOST_TEST(store.get(id).has_value());
  *clk.now += 2min;
  BOOST_TEST(!store.get(id).has_value());
}

BOOST_AUTO_TEST_CASE(byte_budget_evicts_the_least_recently_updated_threads) {
  conversation_store::options o;
  o.max_bytes = 64 * 1024;
  conversation_store store(o);
  const std::string big(10 * 1024, 'x');
  auto first = store.create("chat");
  BOOST_REQUIRE(store.add_exchange(first, text_turn(big), text_turn("a")));
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) {  // 8 × 10 KiB > 64 KiB
    ids.push_back(store.create("chat"));
    BOOST_REQUIRE(store.add_exchange(ids.back(), text_turn(big), text_turn("a")));
  }
  BOOST_TEST(store.stats().bytes <= o.max_bytes);
  BOOST_TEST(!store.get(first).has_value());  // the oldest update went first
  BOOST_TEST(store.get(ids.back()).has_value());
  BOOST_TEST(store.stats().evicted >= 1u);
  // Updating an old thread makes it the newest: the next eviction takes another one.
  std::string survivor;  // the oldest thread still held
  for (const auto& id : ids)
    if (survivor.empty() && store.get(id)) survivor = id;
  BOOST_REQUIRE(survivor != ids.back());
  BOOST_REQUIRE(store.add_exchange(survivor, text_turn("q"), text_turn("a")));
  auto extra = store.create("chat");
  BOOST_REQUIRE(store.add_exchange(extra, text_turn(big), text_turn("a")));
  BOOST_TEST(store.get(survivor).has_value());
  BOOST_TEST(store.stats().bytes <= o.max_bytes);
}

BOOST_AUTO_TEST_CASE(an_exchange_larger_than_the_budget_is_refused) {
  conversation_store::options o;
  o.max_bytes = 4096;
  conversation_store store(o);
  auto id = store.create("chat");
  auto r = store.add_exchange(id, text_turn(std::string(8192, 'y')), text_turn("a"));
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST((r.error().code == errc::over_capacity));
  BOOST_TEST(store.get(id)->turns.empty());
}

BOOST_AUTO_TEST_CASE(tool_state_is_per_thread_and_read_modify_write) {
  conversation_store store;
  boost::json::object initial;
  initial["step"] = 1;
  auto a = store.create("codereview", initial);
  auto b = store.create("codereview");
  auto r = store.update(a, [](boost::json::object& st) -> exai::codecs::result<void> {
    st["step"] = st["step"].as_int64() + 1;
    st["findings"] = "x";
    return {};
  });
  BOOST_REQUIRE(r);
  BOOST_TEST(store.get(a)->state.at("step").as_int64() == 2);
  BOOST_TEST(store.get(b)->state.empty());  // no state crosses threads
  auto refused = store.update(a, [](boost::json::object&) -> exai::codecs::result<void> {
    return exai::codecs::error(errc::invalid_params, "step_number: expected 3");
  });
  BOOST_REQUIRE(refused.has_error());
  BOOST_TEST(refused.error().message == "step_number: expected 3");
  BOOST_TEST(!store.update("missing", [](boost::json::object&) -> exai::codecs::result<void> { return {}; }));
}

BOOST_AUTO_TEST_CASE(concurrent_appends_on_one_thread_never_interleave_or_overrun) {
  conversation_store store;
  auto id = store.create("chat");
  std::vector<std::thread> workers;
  std::atomic<int> accepted{0};
  for (int w = 0; w < 4; ++w)
    workers.emplace_back([&, w] {
      for (int i = 0; i < 10; ++i)
        if (store.add_exchange(id, text_turn("q" + std::to_string(w) + "." + std::to_string(i)),
                               text_turn("a" + std::to_string(w) + "." + std::to_string(i))))
          ++accepted;
    });
  for (auto& t : workers) t.join();
  BOOST_TEST(accepted.load() == 20);  // 40 tried, the limit holds
  auto v = store.get(id);
  BOOST_REQUIRE(v->turns.size() == 40u);
  for (std::size_t i = 0; i < v->turns.size(); i += 2)  // each answer follows its own question
    BOOST_TEST(v->turns[i + 1].content == "a" + v->turns[i].content.substr(1));
}
