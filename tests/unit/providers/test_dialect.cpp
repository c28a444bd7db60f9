// The provider dialects against golden files: request bodies built from request models
// (tests/data/providers/requests), and recorded answer shapes decoded into events
// (streams/*.sse, bodies/*.json -> *.out.json). exai-tools-reference.md §2.3-2.4.
#include "chat_request.hpp"
#include "golden.hpp"
#include "providers/dialect.hpp"

#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>

namespace json = boost::json;
using namespace exai::providers;
using namespace exai::providers::test;
using dialect::flavour;

namespace {

const model_info& model(std::string_view name) {
  for (const auto& m : catalogue()) {
    if (m.name == name) return m;
  }
  throw std::runtime_error("no such model in the catalogue");
}

flavour flavour_of(std::string_view file) {
  if (file.starts_with("minimax")) return flavour::minimax;
  if (file.starts_with("kimi")) return flavour::kimi;
  return flavour::glm;
}

json::object summary(const std::vector<event>& evs) {
  completion c;
  json::array kinds;
  for (const auto& e : evs) {
    dialect::accumulate(c, e);
    static const char* names[] = {"text", "reasoning", "tool_call", "usage", "finish", "retry"};
    kinds.push_back(json::string(names[e.index()]));
  }
  json::array calls;
  for (const auto& t : c.tool_calls) {
    calls.push_back(json::object{{"id", t.id}, {"type", t.type}, {"name", t.name}, {"arguments", t.arguments}});
  }
  return {{"events", kinds}, {"text", c.text}, {"reasoning", c.reasoning}, {"tool_calls", calls},
          {"usage", {{"input", c.usage.input_tokens}, {"output", c.usage.output_tokens}, {"total", c.usage.total_tokens}}},
          {"finish", to_string(c.finish)}, {"finish_raw", c.finish_raw}};
}

json::object error_summary(const provider_error& e) {
  return {{"error", to_string(e.code)}, {"message", e.message}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(dialects)

BOOST_AUTO_TEST_CASE(request_bodies_match_golden_files) {
  struct case_t {
    std::string name;
    flavour f;
    request req;
  };
  std::vector<case_t> cases;
  {
    auto r = chat("glm-4.5", "What changed?");
    r.thinking = thinking::on;
    r.web_search = true;
    cases.push_back({"glm_thinking_web_search", flavour::glm, r});
  }
  {
    auto r = chat("glm-4.5-flash", "Plain question");  // no thinking support: no flag sent
    r.thinking = thinking::on;
    r.stream = false;
    r.max_tokens = 100000;  // capped at the model's output limit
    r.temperature = 1.7;    // clamped to 1
    cases.push_back({"glm_flash_plain", flavour::glm, r});
  }
  {
    auto r = chat("kimi-k2-0905-preview", "Search this");
    r.web_search = true;
    r.messages.back().parts.push_back(image_part{"image/png", "iVBORw0KGgo="});
    cases.push_back({"kimi_web_search_image", flavour::kimi, r});
  }
  {
    auto r = chat("kimi-k2-thinking", "Search with the thinking model");
    r.web_search = true;
    cases.push_back({"kimi_thinking_web_search", flavour::kimi, r});
  }
  {
    // The builtin round trip: the tool message carries the call's arguments unchanged.
    auto r = chat("kimi-k2-0905-preview", "Search this");
    r.web_search = true;
    message a;
    a.role = role::assistant;
    a.tool_calls.push_back({"$web_search:0", "builtin_function", "$web_search", "{\"search_result\":{\"search_id\":\"abc\"}}"});
    r.messages.push_back(a);
    message t;
    t.role = role::tool;
    t.tool_call_id = "$web_search:0";
    t.name = "$web_search";
    t.parts.push_back(text_part{"{\"search_result\":{\"search_id\":\"abc\"}}"});
    r.messages.push_back(t);
    cases.push_back({"kimi_builtin_round_trip", flavour::kimi, r});
  }
  {
    auto r = chat("MiniMax-M2", "Short answer please");
    r.thinking = thinking::on;
    r.thinking_effort = "high";
    r.temperature = 0.0;  // MiniMax needs > 0
    cases.push_back({"minimax_system_thinking", flavour::minimax, r});
  }
  for (auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      auto body = dialect::build_body(c.f, c.req, model(c.req.model));
      BOOST_TEST_REQUIRE(body.has_value());
      check_golden(data_dir() / "requests" / (c.name + ".json"), *body);
    }
  }
}

BOOST_AUTO_TEST_CASE(images_need_a_vision_model) {
  auto r = chat("kimi-k2-0711-preview", "look");
  r.messages.back().parts.push_back(image_part{"image/png", "AAAA"});
  auto body = dialect::build_body(flavour::kimi, r, model("kimi-k2-0711-preview"));
  BOOST_TEST_REQUIRE(!body.has_value());
  BOOST_TEST((body.error().code == provider_errc::unsupported));
  BOOST_TEST(body.error().message.find("kimi-k2-0711-preview") != std::string::npos);
  auto r2 = chat("MiniMax-M2", "look");
  r2.messages.back().parts.push_back(image_part{"image/png", "AAAA"});
  BOOST_TEST(!dialect::build_body(flavour::minimax, r2, model("MiniMax-M2")).has_value());
}

BOOST_AUTO_TEST_CASE(recorded_streams_decode_to_golden_results) {
  std::size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir() / "streams")) {
    const auto file = entry.path().filename().string();
    if (!file.ends_with(".sse")) continue;
    ++n;
    BOOST_TEST_CONTEXT(file) {
      const std::string wire = read_file(entry.path());
      // Fed in small pieces, as a network would cut it.
      exai::codecs::sse_decoder sse;
      dialect::stream_decoder dec(flavour_of(file));
      std::vector<event> evs;
      std::optional<provider_error> failure;
      for (std::size_t i = 0; i < wire.size() && !failure; i += 7) {
        sse.feed(std::string_view(wire).substr(i, 7));
        while (auto item = sse.next()) {
          BOOST_TEST_REQUIRE(item->has_value());
          auto r = dec.on_event(**item, evs);
          if (!r) {
            failure = r.error();
            break;
          }
        }
      }
      json::object got;
      if (failure) {
        got = error_summary(*failure);
      } else {
        dec.flush(evs);
        got = summary(evs);
        got["done"] = dec.done();
        got["finished"] = dec.finished();
      }
      auto out = entry.path();
      out.replace_extension(".out.json");
      check_golden(out, got);
    }
  }
  BOOST_TEST(n >= 6u);
}

BOOST_AUTO_TEST_CASE(bodies_decode_to_golden_results) {
  std::size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir() / "bodies")) {
    const auto file = entry.path().filename().string();
    if (!file.ends_with(".json") || file.ends_with(".out.json")) continue;
    ++n;
    BOOST_TEST_CONTEXT(file) {
      auto evs = dialect::decode_body(flavour_of(file), read_file(entry.path()));
      json::object got = evs ? summary(*evs) : error_summary(evs.error());
      auto out = entry.path();
      out.replace_extension(".out.json");
      check_golden(out, got);
    }
  }
  BOOST_TEST(n >= 5u);
}

BOOST_AUTO_TEST_SUITE_END()
