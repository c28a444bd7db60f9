// The model registry built from an environment map: which providers are active, base URLs,
// per-model timeouts (§2.5), name / alias / `auto` resolution and the errors that name the
// models that would work or the variables to set. An io_context is only constructed (the
// registry's providers need an executor); nothing runs on it.
#define BOOST_TEST_MODULE providers_registry
#include "providers/registry.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <map>

using namespace exai::providers;

namespace {

struct fixture {
  boost::asio::io_context io;
  std::map<std::string, std::string> vars;

  std::unique_ptr<registry> make() {
    auto copy = vars;
    return registry::from_environment(io.get_executor(), [copy](std::string_view n) -> std::optional<std::string> {
      auto it = copy.find(std::string(n));
      if (it == copy.end() || it->second.empty()) return std::nullopt;
      return it->second;
    });
  }
};

const provider_status& status(const registry& r, std::string_view id) {
  static std::vector<provider_status> keep;
  keep = r.providers();
  for (const auto& s : keep) {
    if (s.id == id) return s;
  }
  throw std::runtime_error("no provider status");
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(nothing_configured_names_the_variables, fixture) {
  auto r = make();
  BOOST_TEST(r->available().empty());
  auto res = r->resolve("");
  BOOST_TEST_REQUIRE(!res.has_value());
  BOOST_TEST((res.error().code == provider_errc::not_configured));
  for (const char* v : {"GLM_API_KEY", "ZHIPUAI_API_KEY", "KIMI_API_KEY", "MOONSHOT_API_KEY",
                        "MINIMAX_M2_KEY", "MINIMAX_API_KEY"}) {
    BOOST_TEST(res.error().message.find(v) != std::string::npos, v);
  }
  BOOST_TEST(r->setup_hint().find("GLM_API_KEY") != std::string::npos);
  BOOST_TEST(r->providers().size() == 3u);
  BOOST_TEST(!status(*r, "glm").configured);
  BOOST_TEST(r->get("glm") == nullptr);
}

BOOST_FIXTURE_TEST_CASE(keys_urls_and_fallback_variables, fixture) {
  vars["ZHIPUAI_API_KEY"] = "k1";  // the second GLM variable
  vars["MOONSHOT_API_KEY"] = "k2";
  vars["KIMI_API_URL"] = "http://127.0.0.1:9/v1";
  auto r = make();
  const auto& glm = status(*r, "glm");
  BOOST_TEST(glm.configured);
  BOOST_TEST(glm.key_variable == "ZHIPUAI_API_KEY");
  BOOST_TEST(glm.base_url == "https://api.z.ai/api/paas/v4");
  BOOST_TEST(status(*r, "kimi").base_url == "http://127.0.0.1:9/v1");
  BOOST_TEST(!status(*r, "minimax").configured);
  BOOST_TEST(status(*r, "minimax").base_url == "https://api.minimax.io/anthropic");
  BOOST_TEST(r->get("glm") != nullptr);
  BOOST_TEST(r->get("kimi") != nullptr);
  BOOST_TEST(r->get("minimax") == nullptr);
  // Keys never appear in what is shown.
  for (const auto& s : r->providers()) {
    BOOST_TEST(s.base_url.find("k1") == std::string::npos);
    BOOST_TEST(s.key_variable.find("k1") == std::string::npos);
  }
}

BOOST_FIXTURE_TEST_CASE(resolution_names_aliases_and_default, fixture) {
  vars["GLM_API_KEY"] = "k";
  vars["KIMI_API_KEY"] = "k";
  auto r = make();
  auto d = r->resolve("");
  BOOST_TEST_REQUIRE(d.has_value());
  BOOST_TEST(d->model->name == "glm-4.5-flash");  // DEFAULT_MODEL's default
  BOOST_TEST(d->backend == r->get("glm"));
  auto alias = r->resolve("KIMI-K2");  // alias, any case
  BOOST_TEST_REQUIRE(alias.has_value());
  BOOST_TEST(alias->model->name == "kimi-k2-0905-preview");
  BOOST_TEST(alias->backend == r->get("kimi"));
  auto x = r->resolve("glm-4.5-X");
  BOOST_TEST_REQUIRE(x.has_value());
  BOOST_TEST(x->model->name == "glm-4.5-air");

  auto unknown = r->resolve("gpt-5");
  BOOST_TEST_REQUIRE(!unknown.has_value());
  BOOST_TEST((unknown.error().code == provider_errc::unknown_model));
  BOOST_TEST(unknown.error().message.find("gpt-5") != std::string::npos);
  BOOST_TEST(unknown.error().message.find("glm-4.5-flash") != std::string::npos);
  BOOST_TEST(unknown.error().message.find("kimi-k2-0905-preview") != std::string::npos);
  BOOST_TEST(unknown.error().message.find("MiniMax-M2") == std::string::npos);  // not configured

  auto needs_key = r->resolve("m2");
  BOOST_TEST_REQUIRE(!needs_key.has_value());
  BOOST_TEST((needs_key.error().code == provider_errc::not_configured));
  BOOST_TEST(needs_key.error().message.find("MINIMAX_M2_KEY") != std::string::npos);
  BOOST_TEST(needs_key.error().message.find("glm-4.5-flash") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(auto_rule, fixture) {
  vars["KIMI_API_KEY"] = "k";
  {
    auto r = make();  // no GLM: the long default
    auto a = r->resolve("auto");
    BOOST_TEST_REQUIRE(a.has_value());
    BOOST_TEST(a->model->name == "kimi-k2-0905-preview");
    BOOST_TEST(a->via_auto);
  }
  vars["GLM_API_KEY"] = "k";
  {
    auto r = make();
    BOOST_TEST(r->resolve("AUTO")->model->name == "glm-4.5-flash");
  }
  vars.erase("GLM_API_KEY");
  vars.erase("KIMI_API_KEY");
  vars["MINIMAX_API_KEY"] = "k";
  vars["DEFAULT_MODEL"] = "auto";
  {
    auto r = make();  // neither default configured: the first configured model
    auto a = r->resolve("");
    BOOST_TEST_REQUIRE(a.has_value());
    BOOST_TEST(a->model->name == "MiniMax-M2");
  }
  vars["FAST_MODEL_DEFAULT"] = "MiniMax-M2-Stable";
  {
    auto r = make();
    BOOST_TEST(r->resolve("auto")->model->name == "MiniMax-M2-Stable");
  }
}

BOOST_FIXTURE_TEST_CASE(allowed_providers_and_timeouts, fixture) {
  vars["GLM_API_KEY"] = "k";
  vars["KIMI_API_KEY"] = "k";
  vars["ALLOWED_PROVIDERS"] = " kimi ";
  vars["KIMI_TIMEOUT_SECS"] = "100";
  auto r = make();
  BOOST_TEST(!status(*r, "glm").configured);
  BOOST_TEST(r->get("glm") == nullptr);
  auto k = r->resolve("kimi-thinking");
  BOOST_TEST_REQUIRE(k.has_value());
  BOOST_TEST(k->model->timeout.count() == 150'000);  // 100 s x 1.5
  BOOST_TEST(r->resolve("kimi-k2-turbo")->model->timeout.count() == 80'000);
  // GLM's catalogue entries keep the default base: 30 s x 0.7 for flash.
  bool seen = false;
  for (const auto& s : r->providers()) {
    if (s.id == "glm") seen = !s.models.empty();
  }
  BOOST_TEST(seen);
}

BOOST_FIXTURE_TEST_CASE(catalogue_facts, fixture) {
  std::size_t glm = 0, kimi = 0, minimax = 0;
  for (const auto& m : catalogue()) {
    if (m.provider == "glm") ++glm;
    if (m.provider == "kimi") ++kimi;
    if (m.provider == "minimax") ++minimax;
    BOOST_TEST(m.context_window > 0u);
    BOOST_TEST(m.max_output > 0u);
  }
  BOOST_TEST(glm == 5u);
  BOOST_TEST(minimax == 2u);
  BOOST_TEST(kimi >= 14u);
  vars["MINIMAX_M2_KEY"] = "k";
  auto r = make();
  auto m2 = r->resolve("MiniMax-M2");
  BOOST_TEST(m2->model->context_window == 204'800u);
  BOOST_TEST(!m2->model->vision);
  BOOST_TEST(r->resolve("glm-4.5-flash").has_value() == false);
}

BOOST_FIXTURE_TEST_CASE(bad_ca_file_is_a_clear_startup_error, fixture) {
  vars["GLM_API_KEY"] = "k";
  vars["EXAI_PROVIDER_CA_FILE"] = "/nonexistent/ca.pem";
  try {
    make();
    BOOST_FAIL("expected an exception");
  } catch (const std::exception& e) {
    BOOST_TEST(std::string(e.what()).find("/nonexistent/ca.pem") != std::string::npos);
  }
}
