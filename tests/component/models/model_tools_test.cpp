// chat, challenge, listmodels, status and version through the tool host, against the scripted
// provider (a test double): the request each call builds, the §1.4 JSON it returns, the
// conversation it records, progress while streaming and a cancel that closes the stream.
#define BOOST_TEST_MODULE models_component_tools
#include "daemon/models/model_tools.hpp"
#include "daemon/models/prompts.hpp"
#include "daemon/models/services.hpp"
#include "daemon/tool_host.hpp"
#include "tests/fakes/models/host_call.hpp"
#include "tests/fakes/models/scripted_registry.hpp"
#include "tests/support/files.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <fstream>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace exai::daemon;
using exai::codecs::errc;
using exai::codecs::result;
using exai::codecs::tool_result;
using exai::test::scripted_registry;
using std::chrono::milliseconds;

namespace {

struct fixture {
  std::shared_ptr<scripted_registry> registry;
  std::shared_ptr<models::services> services = std::make_shared<models::services>();
  exai::test::temp_dir root{"models"};
  std::unique_ptr<tool_host> host;
  std::vector<exai::codecs::progress_update> progress;

  explicit fixture(std::set<std::string> configured = {"glm", "kimi"}) {
    registry = std::make_shared<scripted_registry>(std::move(configured));
    services->registry = registry;
    services->files = std::make_shared<const models::file_policy>(std::vector<std::filesystem::path>{root.path});
    tool_host::options o;
    o.profiles = {"core", "models"};
    o.models = services;
    host = std::make_unique<tool_host>(o);
  }

  exai::test::scripted_provider& glm() { return *registry->provider_of("glm"); }

  // One call on a fresh io_context; cancelled (terminal) after `cancel_after` when given.
  result<tool_result> call(std::string name, const json::object& args,
                           std::optional<milliseconds> cancel_after = std::nullopt) {
    return exai::test::call_host(*host, std::move(name), args, [this](const exai::codecs::progress_update& u) { progress.push_back(u); }, cancel_after);
  }
  // Cancelled once the GLM double has streamed the first chunk of its answer.
  result<tool_result> call_cancelled_mid_stream(std::string name, const json::object& args) {
    auto r = exai::test::call_host(
        *host, std::move(name), args, [this](const exai::codecs::progress_update& u) { progress.push_back(u); },
        std::nullopt, [this](std::function<void()> cancel) { glm().on_streaming = std::move(cancel); });
    glm().on_streaming = nullptr;  // it refers to that call's io_context
    return r;
  }

  // The §1.4 document of a successful tool_result.
  json::object doc(const std::string& name, const json::object& args) {
    auto r = call(name, args);
    BOOST_REQUIRE(r.has_value());
    return json::parse(r->content.at(0).as_object().at("text").as_string()).as_object();
  }

  void write(const std::string& name, std::string_view bytes) {
    std::ofstream(root / name, std::ios::binary) << bytes;
  }
};

json::object args(std::string_view text) { return json::parse(text).as_object(); }

std::string text_of(const exai::providers::message& m) {
  std::string out;
  for (const auto& p : m.parts)
    if (const auto* t = std::get_if<exai::providers::text_part>(&p)) out += t->text;
  return out;
}

bool has(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }
std::string str(const json::value& v) { return std::string(v.as_string()); }

}  // namespace

BOOST_AUTO_TEST_CASE(chat_first_call_returns_the_answer_and_a_continuation_offer) {
  fixture f;
  auto d = f.doc("chat", args(R"({"prompt":"Is a mutex needed here?"})"));
  BOOST_TEST(str(d.at("status")) == "continuation_available");
  BOOST_TEST(str(d.at("content")) == "Hello from the model." + std::string(models::prompts::chat_closing));
  BOOST_TEST(str(d.at("content_type")) == "text");
  const auto& md = d.at("metadata").as_object();
  BOOST_TEST(str(md.at("tool_name")) == "chat");
  BOOST_TEST(str(md.at("model_used")) == "glm-4.5-flash");  // the default model
  BOOST_TEST(str(md.at("provider_used")) == "glm");
  BOOST_TEST(md.at("usage").at("total_tokens").to_number<int>() == 16);
  const auto& offer = d.at("continuation_offer").as_object();
  BOOST_TEST(offer.at("remaining_turns").to_number<int>() == 19);
  BOOST_TEST(f.services->store->get(str(offer.at("continuation_id"))).has_value());

  BOOST_REQUIRE(f.glm().requests.size() == 1u);
  const auto& req = f.glm().requests[0];
  BOOST_TEST(req.model == "glm-4.5-flash");
  BOOST_TEST(req.system == std::string(models::prompts::chat_system) + std::string(models::prompts::chat_web_search));
  BOOST_TEST(req.web_search);
  BOOST_TEST(req.stream);
  BOOST_TEST(req.temperature.value() == 0.5);
  BOOST_TEST((req.thinking == exai::providers::thinking::automatic));
  BOOST_REQUIRE(req.messages.size() == 1u);
  BOOST_TEST(text_of(req.messages[0]) == "Is a mutex needed here?");
}

BOOST_AUTO_TEST_CASE(continuation_replays_history_and_keeps_the_model) {
  fixture f;
  auto first = f.doc("chat", args(R"({"prompt":"first question","model":"GLM-4.6","use_websearch":false,"temperature":0.2})"));
  const auto id = str(first.at("continuation_offer").at("continuation_id"));
  exai::test::scripted_reply second_reply;
  second_reply.chunks = {"second", " answer"};
  f.glm().replies.push_back(second_reply);
  json::object a2;
  a2["prompt"] = "second question";
  a2["continuation_id"] = id;
  auto second = f.doc("chat", a2);
  BOOST_TEST(str(second.at("metadata").at("model_used")) == "glm-4.6");
  BOOST_TEST(second.at("continuation_offer").at("remaining_turns").to_number<int>() == 18);
  BOOST_TEST(str(second.at("continuation_offer").at("continuation_id")) == id);

  BOOST_REQUIRE(f.glm().requests.size() == 2u);
  BOOST_TEST(!f.glm().requests[0].web_search);
  BOOST_TEST(f.glm().requests[0].system == std::string(models::prompts::chat_system));
  const auto& msgs = f.glm().requests[1].messages;
  BOOST_REQUIRE(msgs.size() == 3u);
  BOOST_TEST((msgs[0].role == exai::providers::role::user));
  BOOST_TEST(text_of(msgs[0]) == "first question");
  BOOST_TEST((msgs[1].role == exai::providers::role::assistant));
  BOOST_TEST(text_of(msgs[1]) == "Hello from the model.");  // the answer, without our closing text
  BOOST_TEST(text_of(msgs[2]) == "second question");
}

BOOST_AUTO_TEST_CASE(unknown_or_expired_thread_is_a_tool_error_naming_it) {
  fixture f;
  auto r = f.call("chat", args(R"({"prompt":"x","continuation_id":"0b8c1f7e-0000-4000-8000-000000000000"})"));
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r->is_error);
  auto d = json::parse(r->content.at(0).at("text").as_string()).as_object();
  BOOST_TEST(str(d.at("status")) == "error");
  BOOST_TEST(has(str(d.at("content")), "'0b8c1f7e-0000-4000-8000-000000000000' was not found or has expired"));
  BOOST_TEST(f.glm().requests.empty());
}

BOOST_AUTO_TEST_CASE(unknown_model_names_the_models_that_would_work) {
  fixture f({"glm"});
  auto r = f.call("chat", args(R"({"prompt":"x","model":"gpt-5"})"));
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r->is_error);
  const auto text = std::string(r->content.at(0).at("text").as_string());
  BOOST_TEST(has(text, "gpt-5"), text);
  BOOST_TEST(has(text, "glm-4.5-flash"), text);
}

BOOST_AUTO_TEST_CASE(without_any_key_chat_is_listed_and_says_what_to_set) {
  fixture f(std::set<std::string>{});
  bool listed = false;
  for (const auto& t : f.host->list()) listed = listed || t.at("name") == "chat";
  BOOST_TEST(listed);
  auto r = f.call("chat", args(R"({"prompt":"x"})"));
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r->is_error);
  const auto text = std::string(r->content.at(0).at("text").as_string());
  BOOST_TEST(has(text, "GLM_API_KEY"), text);
  // And with no registry at all (a host built without services).
  tool_host::options o;
  o.profiles = {"core", "models"};
  tool_host bare(o);
  asio::io_context ioc;
  std::optional<result<tool_result>> out;
  asio::co_spawn(ioc, bare.async_call("chat", args(R"({"prompt":"x"})"), {}),
                 [&](std::exception_ptr, result<tool_result> rr) { out = std::move(rr); });
  ioc.run();
  BOOST_REQUIRE(out && out->has_value());
  BOOST_TEST(has(std::string((*out)->content.at(0).at("text").as_string()), "KIMI_API_KEY"));
}

BOOST_AUTO_TEST_CASE(files_are_embedded_once_per_thread_and_refusals_name_the_rule) {
  fixture f;
  f.write("notes.txt", "line one\nline two\n");
  const auto path = std::filesystem::canonical(f.root / "notes.txt").string();
  json::object a;
  a["prompt"] = "review this";
  a["files"] = json::array{json::value(path)};
  auto first = f.doc("chat", a);
  const auto& sent = text_of(f.glm().requests[0].messages[0]);
  BOOST_TEST(has(sent, "review this"));
  BOOST_TEST(has(sent, "--- BEGIN FILE: " + path + " ---\nline one\nline two\n--- END FILE: " + path + " ---"));
  // Named again in the same thread: not embedded twice.
  a["continuation_id"] = first.at("continuation_offer").at("continuation_id");
  f.doc("chat", a);
  const auto& again = text_of(f.glm().requests[1].messages[2]);
  BOOST_TEST(!has(again, "BEGIN FILE"), again);
  BOOST_TEST(has(again, path + " " + std::string(models::prompts::file_seen_before)));
  // Refused: relative, outside the root, binary.
  f.write("blob.bin", std::string("\0\1\2", 3));
  for (const auto& [p, rule] : std::vector<std::pair<std::string, std::string>>{
           {"notes.txt", "not an absolute path"},
           {"/etc/hostname", "outside the allowed roots"},
           {(f.root / "blob.bin").string(), "binary file"}}) {
    json::object bad;
    bad["prompt"] = "x";
    bad["files"] = json::array{json::value(p)};
    auto r = f.call("chat", bad);
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(r->is_error);
    const auto text = std::string(r->content.at(0).at("text").as_string());
    BOOST_TEST(has(text, p + ": "), text);
    BOOST_TEST(has(text, rule), text);
  }
  BOOST_TEST(f.glm().requests.size() == 2u);  // refused calls never reached the model
}

BOOST_AUTO_TEST_CASE(images_go_to_vision_models_only) {
  fixture f({"glm", "minimax"});
  auto r = f.call("chat", args(R"({"prompt":"x","model":"MiniMax-M2","images":["data:image/png;base64,AAAA"]})"));
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r->is_error);
  const auto text = std::string(r->content.at(0).at("text").as_string());
  BOOST_TEST(has(text, "'MiniMax-M2' does not accept images"), text);
  BOOST_TEST(has(text, "glm-4.5v"), text);
  f.doc("chat", args(R"({"prompt":"what is this?","model":"glm-4.5v","images":["data:image/png;base64,AAAA"]})"));
  const auto& parts = f.glm().requests.at(0).messages.at(0).parts;
  BOOST_REQUIRE(parts.size() == 2u);
  const auto& img = std::get<exai::providers::image_part>(parts[1]);
  BOOST_TEST(img.media_type == "image/png");
  BOOST_TEST(img.base64 == "AAAA");
}

BOOST_AUTO_TEST_CASE(thinking_mode_reaches_thinking_models) {
  fixture f;
  f.doc("chat", args(R"({"prompt":"x","model":"glm-4.6","thinking_mode":"high"})"));
  f.doc("chat", args(R"({"prompt":"x","model":"glm-4.6","thinking_mode":"minimal"})"));
  f.doc("chat", args(R"({"prompt":"x","model":"glm-4.5-flash","thinking_mode":"max"})"));
  const auto& rq = f.glm().requests;
  BOOST_TEST((rq[0].thinking == exai::providers::thinking::on));
  BOOST_TEST(rq[0].thinking_effort == "high");
  BOOST_TEST((rq[1].thinking == exai::providers::thinking::off));
  BOOST_TEST((rq[2].thinking == exai::providers::thinking::automatic));  // no thinking support
}

BOOST_AUTO_TEST_CASE(streamed_text_is_reported_as_progress) {
  fixture f;
  exai::test::scripted_reply reply;
  reply.reasoning = {"let me think"};
  reply.chunks = {"one ", "two ", "three"};
  f.glm().replies.push_back(reply);
  f.doc("chat", args(R"({"prompt":"count"})"));
  BOOST_REQUIRE(!f.progress.empty());
  BOOST_TEST(has(f.progress.front().message, "glm-4.5-flash is thinking"), f.progress.front().message);
  double last = -1;
  for (const auto& u : f.progress) {
    BOOST_REQUIRE(u.progress.has_value());
    BOOST_TEST(*u.progress > last);
    last = *u.progress;
  }
}

BOOST_AUTO_TEST_CASE(stream_true_carries_the_answer_text_in_the_reports) {
  fixture f;
  exai::test::scripted_reply reply;
  reply.reasoning = {"hmm"};
  reply.chunks = {"al", "pha ", "beta"};
  f.glm().replies = {reply, reply};
  f.doc("chat", args(R"({"prompt":"x","stream":true})"));
  std::string joined;
  for (const auto& u : f.progress) joined += u.chunk;
  BOOST_TEST(joined == "alpha beta");  // every piece once, reasoning not included
  f.progress.clear();
  f.doc("chat", args(R"({"prompt":"x"})"));
  for (const auto& u : f.progress) BOOST_TEST(u.chunk.empty());
}

BOOST_AUTO_TEST_CASE(cancel_mid_stream_closes_the_provider_stream) {
  fixture f;
  exai::test::scripted_reply slow;
  slow.chunks = std::vector<std::string>(200, "x");
  slow.pause = milliseconds(10);
  f.glm().replies.push_back(slow);
  auto r = f.call_cancelled_mid_stream("chat", args(R"({"prompt":"long answer"})"));
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST((r.error().code == errc::cancelled));
  BOOST_TEST(f.glm().closed_by_cancel == 1);
  BOOST_TEST(f.services->store->stats().threads == 0u);  // nothing recorded
}

BOOST_AUTO_TEST_CASE(truncated_answer_and_provider_errors_are_status_error) {
  fixture f;
  exai::test::scripted_reply cut;
  cut.chunks = {"partial"};
  cut.finish = exai::providers::finish_reason::length;
  f.glm().replies.push_back(cut);
  auto r = f.call("chat", args(R"({"prompt":"x"})"));
  BOOST_TEST(r->is_error);
  auto d = json::parse(r->content.at(0).at("text").as_string()).as_object();
  BOOST_TEST(has(str(d.at("content")), "Response incomplete: length"));
  BOOST_TEST(has(str(d.at("content")), "partial"));

  exai::test::scripted_reply limited;
  limited.chunks = {};
  exai::providers::provider_error e;
  e.code = exai::providers::provider_errc::rate_limited;
  e.message = "rate limited after 4 attempts";
  e.http_status = 429;
  e.upstream_body = R"({"error":{"message":"slow down"}})";
  limited.error = e;
  f.glm().replies.push_back(limited);
  r = f.call("chat", args(R"({"prompt":"x"})"));
  BOOST_TEST(r->is_error);
  d = json::parse(r->content.at(0).at("text").as_string()).as_object();
  BOOST_TEST(str(d.at("status")) == "error");
  BOOST_TEST(has(str(d.at("content")), "rate_limited"));
  BOOST_TEST(has(str(d.at("content")), "rate limited after 4 attempts"));
  BOOST_TEST(d.at("metadata").at("http_status").to_number<int>() == 429);
  BOOST_TEST(str(d.at("metadata").at("provider_error")) == R"({"error":{"message":"slow down"}})");
}

BOOST_AUTO_TEST_CASE(an_oversized_prompt_asks_for_prompt_txt) {
  fixture f;
  json::object a;
  a["prompt"] = std::string(60'001, 'p');
  auto d = f.doc("chat", a);
  BOOST_TEST(str(d.at("status")) == "resend_prompt");
  BOOST_TEST(f.glm().requests.empty());
  f.write("prompt.txt", "the long prompt");
  json::object b;
  b["prompt"] = "see file";
  b["files"] = json::array{json::value((f.root / "prompt.txt").string())};
  f.doc("chat", b);
  const auto sent = text_of(f.glm().requests.at(0).messages.at(0));
  BOOST_TEST(sent == "see file\n\nthe long prompt");
}

BOOST_AUTO_TEST_CASE(two_calls_continuing_one_thread_at_once_both_land) {
  fixture f;
  auto first = f.doc("chat", args(R"({"prompt":"q0"})"));
  const auto id = str(first.at("continuation_offer").at("continuation_id"));
  exai::test::scripted_reply slow;
  slow.chunks = {"a", "b", "c"};
  slow.pause = milliseconds(5);
  f.glm().replies = {slow, slow};
  asio::io_context ioc;
  int done = 0;
  for (int i = 1; i <= 2; ++i) {
    json::object a;
    a["prompt"] = "q" + std::to_string(i);
    a["continuation_id"] = id;
    asio::co_spawn(ioc, f.host->async_call("chat", a, {}), [&](std::exception_ptr e, result<tool_result> r) {
      BOOST_TEST(!e);
      BOOST_TEST((r.has_value() && !r->is_error));
      ++done;
    });
  }
  ioc.run_for(std::chrono::seconds(20));
  BOOST_TEST(done == 2);
  auto v = f.services->store->get(id);
  BOOST_REQUIRE(v);
  BOOST_TEST(v->exchanges == 3u);
  BOOST_TEST(v->turns.size() == 6u);
}

BOOST_AUTO_TEST_CASE(challenge_wraps_the_statement_without_a_model) {
  fixture f;
  auto d = f.doc("challenge", args(R"({"prompt":"The cache is never stale."})"));
  BOOST_TEST(str(d.at("status")) == "success");
  BOOST_TEST(str(d.at("content_type")) == "json");
  auto inner = json::parse(str(d.at("content"))).as_object();
  BOOST_TEST(str(inner.at("original_statement")) == "The cache is never stale.");
  BOOST_TEST(has(str(inner.at("challenge_prompt")), "The cache is never stale."));
  BOOST_TEST(str(inner.at("instructions")) == std::string(models::prompts::challenge_instructions));
  BOOST_TEST(f.glm().requests.empty());
  BOOST_TEST(f.call("challenge", args("{}")).has_error());  // prompt is required
}

BOOST_AUTO_TEST_CASE(listmodels_status_version_report_the_registry_without_keys) {
  fixture f({"kimi"});
  auto lm = f.call("listmodels", args("{}"));
  BOOST_REQUIRE(lm.has_value());
  const auto& st = *lm->structured;
  BOOST_TEST(st.at("models").as_array().size() > 5u);
  BOOST_TEST(str(st.at("models").as_array().at(0)) == "kimi-k2-0905-preview");
  BOOST_TEST(!st.contains("hint"));
  auto d = json::parse(lm->content.at(0).at("text").as_string()).as_object();
  BOOST_TEST(str(d.at("status")) == "success");
  BOOST_TEST(str(d.at("content_type")) == "markdown");
  BOOST_TEST(has(str(d.at("content")), "`kimi-k2-turbo` -> `kimi-k2-turbo-preview`"));
  BOOST_TEST(has(str(d.at("content")), "(not configured: set GLM_API_KEY)"));
  BOOST_TEST(d.at("metadata").at("configured_providers").to_number<int>() == 1);

  auto s = f.call("status", args("{}"));
  BOOST_REQUIRE(s.has_value());
  const auto& ss = *s->structured;
  BOOST_TEST(ss.at("providers_configured").as_array() == json::array{"kimi"});
  BOOST_TEST(ss.at("uptime_s").is_uint64());  // never printed as 1.2E1
  BOOST_TEST(!has(std::string(s->content.at(0).at("text").as_string()), "E+"));

  auto v = f.call("version", args("{}"));
  BOOST_REQUIRE(v.has_value());
  BOOST_TEST(v->structured->at("providers_configured").as_array() == json::array{"kimi"});
  BOOST_TEST(has(std::string(v->content.at(0).at("text").as_string()), "exai-daemon " + std::string(daemon_version())));
}

BOOST_AUTO_TEST_CASE(model_tools_carry_their_own_call_budget) {
  fixture f;
  BOOST_TEST(f.host->traits("chat").call_timeout.value() == models::model_call_budget);
  BOOST_TEST(f.host->traits("chat_EXAI-WS").call_timeout.value() == models::model_call_budget);
  BOOST_TEST(!f.host->traits("challenge").call_timeout.has_value());
}
