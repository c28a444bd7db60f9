// Bodies of the conformance fixture tools (daemon/conformance_tools.hpp). Names, arguments and
// results follow the suite's scenario descriptions; each handler is a plain function (toolchain
// gotcha 4: no capturing lambda coroutines).
#include "daemon/conformance_tools.hpp"

#include "routes/era.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

namespace exai::daemon::conformance {

namespace asio = boost::asio;
namespace json = boost::json;
using codecs::tool_result;

namespace {

// A 1x1 PNG and a 44-byte-header WAV of eight silent 8-bit samples: the smallest valid media.
constexpr std::string_view png_1x1 =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
constexpr std::string_view wav_silence =
    "UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQgAAACAgICAgICAgA==";

json::object no_arguments() {
  return json::parse(R"({"type":"object","properties":{},"additionalProperties":false})").as_object();
}

json::object text_block(std::string_view text) { return {{"type", "text"}, {"text", text}}; }

json::object media_block(std::string_view type, std::string_view data, std::string_view mime) {
  return {{"type", type}, {"data", data}, {"mimeType", mime}};
}

json::object resource_block(std::string_view uri, std::string_view mime, std::string_view text) {
  return {{"type", "resource"},
          {"resource", json::object{{"uri", uri}, {"mimeType", mime}, {"text", text}}}};
}

tool_result blocks(std::initializer_list<json::object> list, bool is_error = false) {
  tool_result r;
  for (const auto& b : list) r.content.push_back(b);
  r.is_error = is_error;
  return r;
}

asio::awaitable<tool_result> simple_text(json::object, tool_context) {
  co_return blocks({text_block("This is a simple text response for testing.")});
}

asio::awaitable<tool_result> image_content(json::object, tool_context) {
  co_return blocks({media_block("image", png_1x1, "image/png")});
}

asio::awaitable<tool_result> audio_content(json::object, tool_context) {
  co_return blocks({media_block("audio", wav_silence, "audio/wav")});
}

asio::awaitable<tool_result> embedded_resource(json::object, tool_context) {
  co_return blocks({resource_block("test://embedded-resource", "text/plain",
                                   "This is an embedded resource content.")});
}

asio::awaitable<tool_result> multiple_content_types(json::object, tool_context) {
  co_return blocks({text_block("Multiple content types test:"),
                    media_block("image", png_1x1, "image/png"),
                    resource_block("test://mixed-content-resource", "application/json",
                                   R"({"test":"data","value":123})")});
}

asio::awaitable<tool_result> error_handling(json::object, tool_context) {
  co_return blocks({text_block("This tool intentionally returns an error for testing")}, true);
}

// 0/100, 50/100, 100/100 about 50 ms apart; the waits end at once when the call is cancelled.
asio::awaitable<tool_result> with_progress(json::object, tool_context ctx) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (int step = 0; step <= 100; step += 50) {
    if (step > 0) {
      timer.expires_after(std::chrono::milliseconds(50));
      co_await timer.async_wait(asio::use_awaitable);
    }
    if (ctx.progress) {
      codecs::progress_update u;
      u.progress = step;
      u.total = 100;
      u.message = "step " + std::to_string(step) + " of 100";
      ctx.progress(u);
    }
  }
  co_return blocks({text_block("Progress test completed (0, 50 and 100 of 100 reported).")});
}

// Three info-level log lines about 50 ms apart. The gateway relays them as notifications/message
// only to a client that asked (logging/setLevel, or a modern request's _meta logLevel).
asio::awaitable<tool_result> logging_steps(json::object, tool_context ctx) {
  static constexpr std::string_view lines[] = {"Tool execution started", "Tool processing data",
                                               "Tool execution completed"};
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (std::size_t i = 0; i < std::size(lines); ++i) {
    if (i > 0) {
      timer.expires_after(std::chrono::milliseconds(50));
      co_await timer.async_wait(asio::use_awaitable);
    }
    if (ctx.progress) {
      codecs::progress_update u;
      u.log_level = "info";
      u.logger = "conformance";
      u.log_data = lines[i];
      ctx.progress(u);
    }
  }
  co_return blocks({text_block("Tool execution completed (three log lines sent).")});
}

// Reached only when the client declared sampling (the gateway refuses the call with -32021
// otherwise). The gateway sends clients no requests, so nothing is sampled.
asio::awaitable<tool_result> missing_capability(json::object, tool_context) {
  co_return blocks({text_block("The client declared the sampling capability; this fixture needs "
                               "nothing more from it.")});
}

asio::awaitable<tool_result> schema_2020_12(json::object args, tool_context) {
  std::string who = "anonymous";
  if (const auto* n = args.if_contains("name"); n && n->is_string()) who = n->as_string();
  co_return blocks({text_block("Received the arguments of " + who + ".")});
}

tool_spec make(std::string name, std::string description,
               asio::awaitable<tool_result> (*body)(json::object, tool_context)) {
  tool_spec s;
  s.name = std::move(name);
  s.description = std::move(description);
  s.input_schema = no_arguments();
  s.handler = body;
  return s;
}

// The suite's JSON Schema 2020-12 fixture, kept verbatim: $schema, $defs with an $anchor,
// allOf/anyOf and if/then/else must reach clients unchanged.
constexpr std::string_view schema_2020_12_text = R"({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "$defs": {"address": {"$anchor": "addressDef", "type": "object",
                        "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}},
  "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"},
                 "contactMethod": {"type": "string", "enum": ["phone", "email"]},
                 "phone": {"type": "string"}, "email": {"type": "string"}},
  "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
  "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
  "then": {"required": ["phone"]},
  "else": {"required": ["email"]},
  "additionalProperties": false
})";

}  // namespace

std::vector<tool_spec> tools() {
  std::vector<tool_spec> out;
  out.push_back(make("test_simple_text", "Returns one text block.", simple_text));
  out.push_back(make("test_image_content", "Returns one image block (a 1x1 PNG).", image_content));
  out.push_back(make("test_audio_content", "Returns one audio block (a short WAV).", audio_content));
  out.push_back(make("test_embedded_resource", "Returns one embedded text resource.",
                     embedded_resource));
  out.push_back(make("test_multiple_content_types", "Returns text, image and resource blocks.",
                     multiple_content_types));
  out.push_back(make("test_error_handling", "Always fails with a tool error (isError).",
                     error_handling));
  out.push_back(make("test_tool_with_progress",
                     "Reports progress 0, 50 and 100 of 100 about 50 ms apart.", with_progress));
  out.push_back(make("test_tool_with_logging", "Runs three steps about 50 ms apart.",
                     logging_steps));
  out.push_back(make("test_logging_tool", "Runs three steps about 50 ms apart.", logging_steps));

  auto cap = make("test_missing_capability",
                  "Needs the client's sampling capability: a 2026-07-28 request that did not "
                  "declare it is refused with -32021.",
                  missing_capability);
  json::object required;
  required["sampling"] = json::object();
  json::object meta;
  meta[routes::era::tool_required_capabilities_key] = std::move(required);
  cap.meta = std::move(meta);
  out.push_back(std::move(cap));

  auto s = make("json_schema_2020_12_tool", "Tool with JSON Schema 2020-12 features",
                schema_2020_12);
  s.input_schema = json::parse(schema_2020_12_text).as_object();
  out.push_back(std::move(s));
  return out;
}

}  // namespace exai::daemon::conformance
