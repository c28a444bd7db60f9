// Cross-check of the providers' HTTP client and OpenAI dialect against a server we did not
// write: the OpenAI-compatible mock of the npm package @dwmkerr/mock-llm (pinned in
// tests/interop/package.json), over plain HTTP, JSON and streamed, through the GLM provider.
#define BOOST_TEST_MODULE providers_interop_mock_llm
#include "providers/registry.hpp"
#include "tests/support/process.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/test/unit_test.hpp>

#include <map>

using namespace exai::providers;
namespace asio = boost::asio;

namespace {

struct mock_llm {
  exai::test::child_process proc;
  std::string url;

  static mock_llm start() {
    const std::string ready = exai::test::temp_path("mock-llm-ready");
    auto p = exai::test::child_process::start({EXAI_NODE, EXAI_MOCK_LLM_SCRIPT, "--ready-file", ready});
    auto info = p.wait_ready(ready);
    std::remove(ready.c_str());
    return {std::move(p), std::string(info.at("url").as_string())};
  }
};

struct fixture {
  asio::io_context io;
  mock_llm mock = mock_llm::start();
  std::unique_ptr<registry> reg;

  fixture() {
    std::map<std::string, std::string> vars{{"GLM_API_KEY", "interop-key"},
                                            {"GLM_API_URL", mock.url + "/v1"},
                                            {"EXAI_PROVIDER_MAX_RETRIES", "1"},
                                            {"EXAI_PROVIDER_RETRY_BASE_MS", "10"}};
    reg = registry::from_environment(io.get_executor(), [vars](std::string_view n) -> std::optional<std::string> {
      auto it = vars.find(std::string(n));
      if (it == vars.end()) return std::nullopt;
      return it->second;
    });
  }

  std::pair<result<completion>, std::vector<event>> call(std::string prompt, bool stream) {
    request r;
    r.model = "glm-4.5";
    r.messages.push_back(message::user(std::move(prompt)));
    r.stream = stream;
    std::vector<event> events;
    auto fut = asio::co_spawn(io, reg->get("glm")->async_complete(r, [&](const event& e) { events.push_back(e); }),
                              asio::use_future);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (fut.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      BOOST_TEST_REQUIRE((std::chrono::steady_clock::now() < until), "the call did not complete");
      io.restart();
      io.run_for(std::chrono::milliseconds(50));
    }
    return {fut.get(), std::move(events)};
  }
};

std::size_t texts(const std::vector<event>& evs) {
  return static_cast<std::size_t>(std::count_if(evs.begin(), evs.end(), [](const event& e) { return e.index() == 0; }));
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(json_answer, fixture) {
  auto [res, events] = call("the quick brown fox", false);
  BOOST_TEST_REQUIRE(res.has_value(), res.error().message);
  BOOST_TEST(res->text == "the quick brown fox");  // the mock echoes the last message
  BOOST_TEST((res->finish == finish_reason::stop));
  BOOST_TEST(texts(events) == 1u);
}

BOOST_FIXTURE_TEST_CASE(streamed_answer, fixture) {
  auto [res, events] = call("the quick brown fox jumps", true);
  BOOST_TEST_REQUIRE(res.has_value(), res.error().message);
  BOOST_TEST(res->text == "the quick brown fox jumps");
  BOOST_TEST(texts(events) >= 6u);  // 4-character chunks
  BOOST_TEST((res->finish == finish_reason::stop));
}

BOOST_FIXTURE_TEST_CASE(error_status_and_streamed_error, fixture) {
  auto [res, events] = call("please-fail", false);
  BOOST_TEST_REQUIRE(!res.has_value());
  BOOST_TEST((res.error().code == provider_errc::server));
  BOOST_TEST(res.error().http_status == 500u);
  BOOST_TEST(res.error().upstream_body.find("mock failure on request") != std::string::npos);
  BOOST_TEST(std::count_if(events.begin(), events.end(), [](const event& e) { return e.index() == 5; }) == 1);
  // Streamed, the mock sends the error as a 200 event stream ending without [DONE].
  auto [sres, sevents] = call("please-fail", true);
  BOOST_TEST_REQUIRE(!sres.has_value());
  BOOST_TEST((sres.error().code == provider_errc::server));
  BOOST_TEST(sres.error().upstream_body.find("mock_500") != std::string::npos);
}
