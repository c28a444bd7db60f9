// The GLM, Kimi and MiniMax providers end to end against the fake provider (a TEST DOUBLE
// process on loopback, TLS with a CA made at test time): the JSON each sends (compared with the
// golden request files of the unit tests), streamed events, retries on 429 / 500 with
// Retry-After, no retry after streaming, malformed answers, finish_reason length, the circuit
// breaker, per-model timeouts, the concurrency limit, Kimi's $web_search round trip, a provider's
// error body passed on without our key, and a cancel that closes the provider stream.
#define BOOST_TEST_MODULE providers_integration
#include "fixture.hpp"
#include "providers/http_provider.hpp"
#include "tests/unit/providers/chat_request.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fstream>
#include <sstream>

using namespace exai::test;
using namespace exai::test::providers_it;
using namespace exai::providers;
using exai::providers::test::chat;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

struct call_result {
  result<completion> res = provider_error{};
  std::vector<event> events;
};

asio::awaitable<call_result> complete(provider& p, request req, std::function<void(const event&)> also = {}) {
  call_result out;
  out.res = co_await p.async_complete(std::move(req), [&](const event& e) {
    out.events.push_back(e);
    if (also) also(e);
  });
  co_return out;
}

std::size_t count_of(const std::vector<event>& evs, std::size_t index) {
  return static_cast<std::size_t>(std::count_if(evs.begin(), evs.end(), [&](const event& e) { return e.index() == index; }));
}

json::value golden_request(const std::string& name) {
  std::ifstream in(std::string(EXAI_TEST_DATA_DIR) + "/providers/requests/" + name + ".json");
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str());
}

// A registry whose three providers all point at the fake.
std::map<std::string, std::string> env_for(const fake_provider& f) {
  return {{"GLM_API_KEY", "test-glm-key"},
          {"KIMI_API_KEY", "test-kimi-key"},
          {"MINIMAX_M2_KEY", "test-minimax-key"},
          {"GLM_API_URL", f.url() + "/api/paas/v4"},
          {"KIMI_API_URL", f.url() + "/v1"},
          {"MINIMAX_API_URL", f.url() + "/anthropic"},
          {"EXAI_PROVIDER_CA_FILE", f.ca_file()},
          {"EXAI_PROVIDER_RETRY_BASE_MS", "10"}};
}

struct providers_fixture : io_fixture {
  std::unique_ptr<registry> reg;
  void make(const fake_provider& f, std::map<std::string, std::string> extra = {}) {
    auto vars = env_for(f);
    for (auto& [k, v] : extra) vars[k] = v;
    reg = registry::from_environment(io.get_executor(), env_of(vars));
  }
  provider& p(std::string_view id) { return *reg->get(id); }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(each_provider_sends_its_dialect_and_streams_the_answer, providers_fixture) {
  auto fake = fake_provider::start({true, "", {"--chunks", "6"}});
  make(fake);

  auto glm_req = chat("glm-4.5", "What changed?");
  glm_req.thinking = thinking::on;
  glm_req.web_search = true;
  auto glm = run(complete(p("glm"), glm_req));
  BOOST_TEST_REQUIRE(glm.res.has_value(), glm.res.error().message);
  BOOST_TEST(glm.res->text == "[fake glm-4.5] You said: What changed?");
  BOOST_TEST(!glm.res->reasoning.empty());
  BOOST_TEST(glm.res->provider == "glm");
  BOOST_TEST((glm.res->finish == finish_reason::stop));
  BOOST_TEST(glm.res->usage.total_tokens > 0u);
  BOOST_TEST(glm.res->attempts == 1u);
  BOOST_TEST(count_of(glm.events, 0) >= 4u);  // text deltas, streamed
  BOOST_TEST(count_of(glm.events, 1) >= 1u);  // reasoning deltas
  BOOST_TEST(count_of(glm.events, 4) == 1u);  // one finish, last
  BOOST_TEST(glm.events.back().index() == 4u);

  auto kimi = run(complete(p("kimi"), [] {
    auto r = chat("kimi-k2-0905-preview", "Search this");
    r.web_search = true;
    r.messages.back().parts.push_back(image_part{"image/png", "iVBORw0KGgo="});
    return r;
  }()));
  BOOST_TEST_REQUIRE(kimi.res.has_value(), kimi.res.error().message);
  BOOST_TEST(kimi.res->text.find("Search this") != std::string::npos);

  auto mm_req = chat("MiniMax-M2", "Short answer please");
  mm_req.thinking = thinking::on;
  mm_req.thinking_effort = "high";
  mm_req.temperature = 0.0;
  auto mm = run(complete(p("minimax"), mm_req));
  BOOST_TEST_REQUIRE(mm.res.has_value(), mm.res.error().message);
  BOOST_TEST(mm.res->text == "[fake MiniMax-M2] You said: Short answer please");
  BOOST_TEST(!mm.res->reasoning.empty());
  BOOST_TEST(mm.res->usage.input_tokens > 0u);
  BOOST_TEST(mm.res->usage.output_tokens > 0u);

  auto reqs = fake.requests();
  BOOST_TEST_REQUIRE(reqs.size() == 3u);
  BOOST_TEST(reqs[0].at("path") == "/api/paas/v4/chat/completions");
  BOOST_TEST(reqs[0].at("headers").at("authorization") == "Bearer test-glm-key");
  BOOST_TEST((reqs[0].at("body") == golden_request("glm_thinking_web_search")), json::serialize(reqs[0].at("body")));
  BOOST_TEST(reqs[1].at("path") == "/v1/chat/completions");
  BOOST_TEST(reqs[1].at("headers").at("authorization") == "Bearer test-kimi-key");
  BOOST_TEST((reqs[1].at("body") == golden_request("kimi_web_search_image")));
  BOOST_TEST(reqs[2].at("path") == "/anthropic/v1/messages");
  BOOST_TEST(reqs[2].at("headers").at("x-api-key") == "test-minimax-key");
  BOOST_TEST(reqs[2].at("headers").at("anthropic-version") == "2023-06-01");
  BOOST_TEST(!reqs[2].at("headers").as_object().contains("authorization"));
  BOOST_TEST((reqs[2].at("body") == golden_request("minimax_system_thinking")));
}

BOOST_FIXTURE_TEST_CASE(non_streamed_calls_work_too, providers_fixture) {
  auto fake = fake_provider::start();
  make(fake);
  for (const char* id : {"glm", "minimax"}) {
    auto r = chat(id == std::string("glm") ? "glm-4.5-flash" : "MiniMax-M2", "plain");
    r.stream = false;
    auto out = run(complete(p(id), r));
    BOOST_TEST_REQUIRE(out.res.has_value(), out.res.error().message);
    BOOST_TEST(out.res->text.find("You said: plain") != std::string::npos);
    BOOST_TEST(count_of(out.events, 0) == 1u);
  }
}

BOOST_FIXTURE_TEST_CASE(retries_429_with_retry_after_and_500, providers_fixture) {
  auto fake = fake_provider::start({true, R"({"steps":[
      {"status":429,"headers":{"Retry-After":"0"},"body":{"error":{"message":"slow down"}}},
      {"status":500},
      {"status":503}]})", {}});
  make(fake);
  auto out = run(complete(p("glm"), chat("glm-4.5", "retry me")));
  BOOST_TEST_REQUIRE(out.res.has_value(), out.res.error().message);
  BOOST_TEST(out.res->attempts == 4u);
  BOOST_TEST(out.res->text.find("retry me") != std::string::npos);
  BOOST_TEST(count_of(out.events, 5) == 3u);  // three retry events
  BOOST_TEST(std::get<retry_event>(out.events.front()).reason.find("429") != std::string::npos);
  BOOST_TEST(fake.requests().size() == 4u);
}

BOOST_FIXTURE_TEST_CASE(gives_up_after_the_attempts_and_passes_the_error_body_on, providers_fixture) {
  auto fake = fake_provider::start({true, R"({"steps":[
      {"status":500,"body":{"error":{"message":"the upstream exploded"}},"repeat":true}]})", {}});
  make(fake, {{"EXAI_PROVIDER_MAX_RETRIES", "1"}});
  auto out = run(complete(p("kimi"), chat("kimi-k2-0905-preview", "x")));
  BOOST_TEST_REQUIRE(!out.res.has_value());
  BOOST_TEST((out.res.error().code == provider_errc::server));
  BOOST_TEST(out.res.error().http_status == 500u);
  BOOST_TEST(out.res.error().upstream_body.find("the upstream exploded") != std::string::npos);
  BOOST_TEST(out.res.error().message.find("test-kimi-key") == std::string::npos);
  BOOST_TEST(out.res.error().upstream_body.find("test-kimi-key") == std::string::npos);
  BOOST_TEST(fake.requests().size() == 2u);
}

BOOST_FIXTURE_TEST_CASE(a_wrong_key_is_an_auth_error_without_the_key, providers_fixture) {
  auto fake = fake_provider::start({true, "", {"--require-key", "the-right-key"}});
  make(fake);
  auto out = run(complete(p("glm"), chat("glm-4.5", "x")));
  BOOST_TEST_REQUIRE(!out.res.has_value());
  BOOST_TEST((out.res.error().code == provider_errc::auth));
  BOOST_TEST(out.res.error().http_status == 401u);
  BOOST_TEST(out.res.error().upstream_body.find("invalid api key") != std::string::npos);
  for (const auto& s : {out.res.error().message, out.res.error().upstream_body}) {
    BOOST_TEST(s.find("test-glm-key") == std::string::npos);
    BOOST_TEST(s.find("Bearer") == std::string::npos);
  }
  BOOST_TEST(fake.requests().size() == 1u);  // not retried
}

BOOST_FIXTURE_TEST_CASE(no_retry_after_the_first_streamed_byte, providers_fixture) {
  auto fake = fake_provider::start({true, R"({"steps":[{"truncate_after_chunks":3},{"fault":"malformed_json","at_chunk":2}]})",
                                    {"--chunks", "8"}});
  make(fake);
  auto cut = run(complete(p("glm"), chat("glm-4.5", "cut me")));
  BOOST_TEST_REQUIRE(!cut.res.has_value());
  BOOST_TEST(cut.res.error().partial);
  BOOST_TEST(count_of(cut.events, 0) >= 1u);
  BOOST_TEST(count_of(cut.events, 5) == 0u);
  auto bad = run(complete(p("glm"), chat("glm-4.5", "break me")));
  BOOST_TEST_REQUIRE(!bad.res.has_value());
  BOOST_TEST((bad.res.error().code == provider_errc::protocol));
  BOOST_TEST(bad.res.error().partial);
  BOOST_TEST(fake.requests().size() == 2u);  // one each: nothing retried
}

BOOST_FIXTURE_TEST_CASE(finish_reason_length_is_reported, providers_fixture) {
  auto fake = fake_provider::start({true, R"({"steps":[
      {"match":{"path":"/chat/completions"},"reply":{"text":"cut short","finish_reason":"length"}},
      {"match":{"path":"/messages"},"reply":{"text":"cut short","finish_reason":"length"}}]})", {}});
  make(fake);
  auto o = run(complete(p("kimi"), chat("moonshot-v1-8k", "x")));
  BOOST_TEST_REQUIRE(o.res.has_value());
  BOOST_TEST((o.res->finish == finish_reason::length));
  BOOST_TEST(o.res->text == "cut short");
  auto m = run(complete(p("minimax"), chat("MiniMax-M2", "x")));
  BOOST_TEST_REQUIRE(m.res.has_value());
  BOOST_TEST((m.res->finish == finish_reason::length));
  BOOST_TEST(m.res->finish_raw == "max_tokens");
}

BOOST_FIXTURE_TEST_CASE(the_circuit_breaker_opens_after_failures, io_fixture) {
  auto fake = fake_provider::start({true, R"({"steps":[{"status":502,"repeat":true}]})", {}});
  exai::net::https_client_options copts;
  copts.ca_file = fake.ca_file();
  auto client = std::make_shared<exai::net::https_client>(io.get_executor(), copts);
  http_provider_options o;
  o.flavour = dialect::flavour::glm;
  o.id = "glm";
  o.display_name = "ZhipuAI GLM";
  o.base_url = fake.url() + "/api/paas/v4/";
  o.api_key = "k";
  o.retry.max_attempts = 1;
  o.breaker = {2, std::chrono::milliseconds(60'000)};
  model_info m = catalogue()[0];
  auto prov = make_http_provider(client, o, [&](std::string_view n) { return n == m.name ? &m : nullptr; });
  for (int i = 0; i < 2; ++i) {
    auto out = run(complete(*prov, chat(m.name, "x")));
    BOOST_TEST_REQUIRE(!out.res.has_value());
    BOOST_TEST((out.res.error().code == provider_errc::server));
  }
  auto refused = run(complete(*prov, chat(m.name, "x")));
  BOOST_TEST_REQUIRE(!refused.res.has_value());
  BOOST_TEST((refused.res.error().code == provider_errc::circuit_open));
  BOOST_TEST(fake.requests().size() == 2u);  // the third call never reached the provider
  auto unknown = run(complete(*prov, chat("no-such-model", "x")));
  BOOST_TEST((unknown.res.error().code == provider_errc::unknown_model));
}

BOOST_FIXTURE_TEST_CASE(per_model_timeouts, providers_fixture) {
  auto fake = fake_provider::start({true, R"({"steps":[{"delay_ms":5000},{"stall_after_chunks":2}]})", {}});
  make(fake, {{"GLM_TIMEOUT_SECS", "1"}});
  // glm-4.5-air: 1 s x 0.6; the first byte never comes in time. Not retried.
  auto slow = run(complete(p("glm"), chat("glm-4.5-air", "slow")));
  BOOST_TEST_REQUIRE(!slow.res.has_value());
  BOOST_TEST((slow.res.error().code == provider_errc::timeout));
  auto stalled = run(complete(p("glm"), [] {
    auto r = chat("glm-4.5", "stall");
    r.timeout = 300ms;  // the request's own timeout overrides the model's
    return r;
  }()));
  BOOST_TEST_REQUIRE(!stalled.res.has_value());
  BOOST_TEST((stalled.res.error().code == provider_errc::timeout));
  BOOST_TEST(stalled.res.error().partial);
  BOOST_TEST(fake.requests().size() == 2u);
}

BOOST_FIXTURE_TEST_CASE(cancel_closes_the_provider_stream, providers_fixture) {
  auto fake = fake_provider::start({true, R"({"steps":[{"stall_after_chunks":3}]})", {"--chunks", "8"}});
  make(fake);
  asio::cancellation_signal cancel;
  bool sent = false;
  auto out = run(complete(p("glm"), chat("glm-4.5", "cancel me"), [&](const event& e) {
                   if (e.index() == 0 && !sent) {
                     sent = true;
                     asio::post(io, [&] { cancel.emit(asio::cancellation_type::terminal); });
                   }
                 }),
                 cancel);
  BOOST_TEST_REQUIRE(!out.res.has_value());
  BOOST_TEST((out.res.error().code == provider_errc::cancelled));
  BOOST_TEST(eventually(fake, [](const json::object& r) {
    return r.at("event") == "client_closed" && r.at("request") == 1;
  }));
  BOOST_TEST(fake.requests().size() == 1u);  // a cancel is not retried
}

BOOST_FIXTURE_TEST_CASE(cancel_while_waiting_for_a_retry, providers_fixture) {
  auto fake = fake_provider::start({true, R"({"steps":[{"status":429,"headers":{"Retry-After":"30"}}]})", {}});
  make(fake);
  asio::cancellation_signal cancel;
  auto out = run(complete(p("glm"), chat("glm-4.5", "x"), [&](const event& e) {
                   if (e.index() == 5) asio::post(io, [&] { cancel.emit(asio::cancellation_type::terminal); });
                 }),
                 cancel);
  BOOST_TEST_REQUIRE(!out.res.has_value());
  BOOST_TEST((out.res.error().code == provider_errc::cancelled));
  BOOST_TEST(fake.requests().size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(the_concurrency_limit_queues_calls, providers_fixture) {
  auto fake = fake_provider::start({true, R"({"steps":[{"delay_ms":200,"repeat":true}]})", {}});
  make(fake, {{"EXAI_PROVIDER_MAX_CONCURRENCY", "1"}});
  using namespace boost::asio::experimental::awaitable_operators;
  auto both = run([&]() -> asio::awaitable<std::pair<call_result, call_result>> {
    auto [a, b] = co_await (complete(p("glm"), chat("glm-4.5", "one")) && complete(p("glm"), chat("glm-4.5", "two")));
    co_return std::pair{std::move(a), std::move(b)};
  }());
  BOOST_TEST(both.first.res.has_value());
  BOOST_TEST(both.second.res.has_value());
  std::vector<std::string> order;
  for (const auto& r : fake.records()) order.push_back(std::string(r.at("event").as_string()));
  auto first_done = std::find(order.begin(), order.end(), "response_done");
  auto second_req = std::find(std::find(order.begin(), order.end(), "request") + 1, order.end(), "request");
  BOOST_TEST((first_done < second_req));
}

BOOST_FIXTURE_TEST_CASE(kimi_web_search_round_trip_echoes_the_arguments, providers_fixture) {
  const std::string args = R"({"search_result":{"search_id":"s-1"},"usage":{"total_tokens":99}})";
  json::object step{{"match", {{"model", "kimi-k2-0905-preview"}}},
                    {"reply", {{"text", ""}, {"finish_reason", "tool_calls"},
                               {"tool_calls", json::array{json::object{{"id", "$web_search:0"}, {"type", "builtin_function"},
                                                                      {"name", "$web_search"}, {"arguments", args}}}}}}};
  auto fake = fake_provider::start({true, json::serialize(json::object{{"steps", json::array{step}}}), {}});
  make(fake);
  auto r = chat("kimi-k2-0905-preview", "news today?");
  r.web_search = true;
  auto out = run(complete(p("kimi"), r));
  BOOST_TEST_REQUIRE(out.res.has_value(), out.res.error().message);
  BOOST_TEST(out.res->attempts == 2u);
  BOOST_TEST(out.res->tool_calls.empty());  // handled here, not left to the caller
  BOOST_TEST(count_of(out.events, 2) == 1u);
  BOOST_TEST(count_of(out.events, 4) == 1u);  // one finish, for the final round
  auto reqs = fake.requests();
  BOOST_TEST_REQUIRE(reqs.size() == 2u);
  const auto& msgs = reqs[1].at("body").at("messages").as_array();
  BOOST_TEST_REQUIRE(msgs.size() == 6u);
  BOOST_TEST(msgs[4].at("role") == "assistant");
  BOOST_TEST(msgs[4].at("tool_calls").as_array()[0].at("function").at("arguments").as_string() == args);
  BOOST_TEST(msgs[5].at("role") == "tool");
  BOOST_TEST(msgs[5].at("tool_call_id") == "$web_search:0");
  BOOST_TEST(msgs[5].at("content").as_string() == args);  // unchanged, not ""
  // The second round's answer echoes the tool message (the fake answers the last user or tool
  // message), so the final text is built from the arguments.
  BOOST_TEST(out.res->text.find("search_id") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(cancel_while_queued_for_a_slot_frees_nothing_twice, providers_fixture) {
  auto fake = fake_provider::start({true, R"({"steps":[{"match":{"contains":"first"},"delay_ms":500}]})", {}});
  make(fake, {{"EXAI_PROVIDER_MAX_CONCURRENCY", "1"}});
  asio::cancellation_signal cancel_second;
  using namespace boost::asio::experimental::awaitable_operators;
  auto both = run([&]() -> asio::awaitable<std::pair<call_result, call_result>> {
    auto ex = co_await asio::this_coro::executor;
    // The second call queues for the only slot while the first waits 500 ms for its answer; a
    // timer cancels it meanwhile (a trigger, not a timing assertion: cancelled early, it must
    // end as cancelled just the same).
    asio::steady_timer trigger(ex, 100ms);
    trigger.async_wait([&](boost::system::error_code) { cancel_second.emit(asio::cancellation_type::terminal); });
    auto [a, b] = co_await (complete(p("glm"), chat("glm-4.5", "first")) && [&]() -> asio::awaitable<call_result> {
      co_return co_await asio::co_spawn(ex, complete(p("glm"), chat("glm-4.5", "second")),
                                        asio::bind_cancellation_slot(cancel_second.slot(), asio::use_awaitable));
    }());
    co_return std::pair{std::move(a), std::move(b)};
  }());
  BOOST_TEST(both.first.res.has_value());
  BOOST_TEST_REQUIRE(!both.second.res.has_value());
  BOOST_TEST((both.second.res.error().code == provider_errc::cancelled));
  // The slot accounting survived: two more calls, one after the other, both get through.
  auto third = run(complete(p("glm"), chat("glm-4.5", "third")));
  BOOST_TEST(third.res.has_value());
  auto fourth = run(complete(p("glm"), chat("glm-4.5", "fourth")));
  BOOST_TEST(fourth.res.has_value());
  BOOST_TEST(fake.requests().size() == 3u);  // the cancelled call never reached the provider
}
