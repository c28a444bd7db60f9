// Bodies of the built-in tools. Each handler is a plain function returning a coroutine whose state
// lives in its parameters (toolchain gotcha 4: no capturing lambda coroutines).
#include "daemon/builtin_tools.hpp"

#include "daemon/models/services.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstring>

namespace exai::daemon::builtin {

namespace asio = boost::asio;
namespace json = boost::json;
using codecs::tool_result;
using services_ptr = std::shared_ptr<models::services>;

namespace {

json::object schema(std::string_view text) { return json::parse(text).as_object(); }


asio::awaitable<tool_result> ready(tool_result r) { co_return r; }

// A text block holding the JSON (for reference-era clients that read text only) plus the same
// object as structuredContent (MCP 2025-06-18+ clients).
tool_result json_result(json::object doc) {
  auto r = tool_result::text(json::serialize(doc));
  r.structured = std::move(doc);
  return r;
}

// The three providers as listmodels and status show them (never a key: only which variable).
json::array providers_json(const models::services& m) {
  json::array out;
  if (!m.registry) return out;
  for (const auto& p : m.registry->providers()) {
    json::object o;
    o["name"] = p.id;
    o["display_name"] = p.display_name;
    o["configured"] = p.configured;
    json::array vars;
    for (const auto& v : p.key_variables) vars.emplace_back(v);
    o["key_variables"] = std::move(vars);
    o["base_url"] = p.base_url;
    json::array ms;
    for (const auto& name : p.models) ms.emplace_back(name);
    o["models"] = std::move(ms);
    out.push_back(std::move(o));
  }
  return out;
}

std::vector<const providers::model_info*> available(const models::services& m) {
  return m.registry ? m.registry->available() : std::vector<const providers::model_info*>{};
}

std::size_t configured_count(const models::services& m) {
  std::size_t n = 0;
  if (m.registry)
    for (const auto& p : m.registry->providers()) n += p.configured ? 1 : 0;
  return n;
}

// A §1.4 document with markdown content (what the reference's listmodels and version return).
tool_result markdown_output(std::string_view tool, std::string content, json::object metadata,
                            json::object structured) {
  metadata["tool_name"] = tool;
  json::object doc;
  doc["status"] = "success";
  doc["content"] = std::move(content);
  doc["content_type"] = "markdown";
  doc["metadata"] = std::move(metadata);
  auto r = tool_result::text(json::serialize(doc));
  r.structured = std::move(structured);
  return r;
}

std::string thousands(std::uint32_t tokens) {
  return tokens >= 1000 ? std::to_string(tokens / 1000) + "K" : std::to_string(tokens);
}

// ---- core ---------------------------------------------------------------------------------

tool_result status_now(const tool_host& host, const models::services& m, const std::string& server_name) {
  auto st = host.stats();
  json::object doc;
  doc["server"] = server_name;
  doc["version"] = daemon_version();
  // Whole seconds: a JSON double would print as 1.2E1 (issue 20).
  doc["uptime_s"] = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(st.uptime).count());
  json::array tools;
  for (const auto& t : host.list()) tools.push_back(t.as_object().at("name"));
  doc["tools"] = std::move(tools);
  doc["sessions"] = st.sessions;
  doc["in_flight"] = st.in_flight;  // includes this status call
  doc["completed"] = st.completed;
  doc["failed"] = st.failed;
  doc["cancelled"] = st.cancelled;
  doc["providers"] = providers_json(m);
  json::array configured, models_available;
  if (m.registry)
    for (const auto& p : m.registry->providers())
      if (p.configured) configured.emplace_back(p.id);
  for (const auto* info : available(m)) models_available.emplace_back(info->name);
  doc["providers_configured"] = std::move(configured);
  doc["models_available"] = std::move(models_available);
  const auto conv = m.store->stats();
  json::object c;
  c["threads"] = conv.threads;
  c["bytes"] = conv.bytes;
  c["evicted"] = conv.evicted;
  c["expired"] = conv.expired;
  doc["conversations"] = std::move(c);
  json::array next;
  if (configured_count(m) == 0) next.emplace_back(models::setup_hint(m));
  doc["next_steps"] = std::move(next);
  return json_result(std::move(doc));
}

tool_result version_now(const std::string& server_name, const models::services& m) {
  json::object doc;
  doc["name"] = server_name;
  doc["version"] = daemon_version();
  doc["protocol"] = "exai-op";
  json::array ext = {"multiplex", "cancel", "progress", "rich_results"};
  doc["extensions"] = std::move(ext);
  json::array configured;
  std::string md = "# " + server_name + " " + std::string(daemon_version()) + "\n\nProviders:\n";
  if (m.registry)
    for (const auto& p : m.registry->providers()) {
      if (p.configured) configured.emplace_back(p.id);
      md += "- " + p.display_name + ": " + (p.configured ? "configured" : "not configured") + "\n";
    }
  else
    md += "- none\n";
  doc["providers_configured"] = configured;
  json::object meta;
  meta["server"] = server_name;
  meta["version"] = daemon_version();
  return markdown_output("version", std::move(md), std::move(meta), std::move(doc));
}

tool_result listmodels_now(const models::services& m) {
  json::object doc;
  doc["providers"] = providers_json(m);
  json::array all;
  for (const auto* info : available(m)) all.emplace_back(info->name);
  doc["models"] = std::move(all);
  const auto configured = configured_count(m);

  std::string md = "# Available models\n";
  if (m.registry) {
    for (const auto& p : m.registry->providers()) {
      md += "\n## " + p.display_name + (p.configured ? " (configured)" : " (not configured");
      if (!p.configured) {
        std::string vars;
        for (const auto& v : p.key_variables) vars += (vars.empty() ? "" : " or ") + v;
        md += ": set " + vars + ")";
      }
      md += "\n\nModels:\n";
      std::string aliases;
      for (const auto& info : providers::catalogue()) {
        if (info.provider != p.id) continue;
        md += "- `" + info.name + "` - " + thousands(info.context_window) + " context";
        if (info.thinking) md += ", thinking";
        if (info.vision) md += ", images";
        md += "\n";
        for (const auto& al : info.aliases) aliases += "- `" + al + "` -> `" + info.name + "`\n";
      }
      if (!aliases.empty()) md += "\nAliases:\n" + aliases;
    }
    doc["default_model"] = m.registry->default_model();
    md += "\nConfigured providers: " + std::to_string(configured) + "\nAvailable models: " +
          std::to_string(doc["models"].as_array().size()) + "\nDefault model: `" +
          m.registry->default_model() + "`; `auto` picks a configured model.\n";
  }
  if (configured == 0) {
    doc["hint"] = models::setup_hint(m);
    md += "\n" + models::setup_hint(m) + "\n";
  }
  json::object meta;
  meta["configured_providers"] = configured;
  return markdown_output("listmodels", std::move(md), std::move(meta), std::move(doc));
}

// ---- diagnostics --------------------------------------------------------------------------

std::uint64_t as_u64(const json::value& v) {
  if (v.is_uint64()) return v.as_uint64();
  if (v.is_int64()) return v.as_int64() < 0 ? 0 : static_cast<std::uint64_t>(v.as_int64());
  return 0;
}

asio::awaitable<tool_result> echo(json::object args, tool_context) {
  co_return tool_result::text(std::string(args.at("text").as_string()));
}

// Waits `ms`, reporting progress every `progress_every_ms` when given. Cancellation aborts the
// pending timer wait at once (the slot of the awaiting coroutine reaches async_wait).
asio::awaitable<tool_result> delay(json::object args, tool_context ctx) {
  using namespace std::chrono;
  const auto ms = as_u64(args.at("ms"));
  std::uint64_t every = 0;
  if (auto* p = args.if_contains("progress_every_ms")) every = as_u64(*p);
  const auto start = steady_clock::now();
  const auto end = start + milliseconds(ms);
  asio::steady_timer timer(co_await asio::this_coro::executor);
  if (every == 0 || !ctx.progress) {
    timer.expires_at(end);
    co_await timer.async_wait(asio::use_awaitable);
  } else {
    std::uint64_t waited = 0;
    while (waited < ms) {
      waited = std::min(ms, waited + every);
      timer.expires_at(start + milliseconds(waited));
      co_await timer.async_wait(asio::use_awaitable);
      if (waited < ms) {
        codecs::progress_update u;
        u.progress = static_cast<double>(waited);
        u.total = static_cast<double>(ms);
        u.message = "waited " + std::to_string(waited) + " of " + std::to_string(ms) + " ms";
        ctx.progress(u);
      }
    }
  }
  auto r = tool_result::text("waited " + std::to_string(ms) + " ms");
  json::object s;
  s["waited_ms"] = ms;
  r.structured = std::move(s);
  co_return r;
}

asio::awaitable<tool_result> fail(json::object args, tool_context) {
  co_return tool_result::text(std::string(args.at("message").as_string()), true);
}

// Built straight into the JSON string that the result carries (no second copy of the text), by
// doubling: the a-z pattern is copied once, then the filled part onto the rest. A stopped call
// (cancelled, or past its deadline) returns early; its result is discarded anyway.
tool_result blob(json::object args, const cpu_control& ctl) {
  const auto n = static_cast<std::size_t>(as_u64(args.at("bytes")));
  // A repeating alphabet, so a client can check both the length and the content.
  static constexpr std::string_view pattern = "abcdefghijklmnopqrstuvwxyz";
  json::string text;
  text.resize(n);
  char* p = text.data();
  std::size_t filled = std::min(n, pattern.size());
  std::memcpy(p, pattern.data(), filled);
  while (filled < n) {  // filled stays a multiple of the pattern's length until the last copy
    if (ctl.stopped()) return tool_result::text("stopped", true);
    const std::size_t chunk = std::min(filled, n - filled);
    std::memcpy(p + filled, p, chunk);
    filled += chunk;
  }
  tool_result r;
  json::object block;
  block.emplace("type", "text");
  block.emplace("text", std::move(text));
  r.content.emplace_back(std::move(block));
  return r;
}

}  // namespace

std::vector<tool_spec> core_tools(const tool_host& host, services_ptr models,
                                  const std::string& server_name) {
  std::vector<tool_spec> out;
  const tool_host* h = &host;

  out.push_back({
      .name = "status",
      .title = "Daemon status",
      .description =
          "Uptime, tools, connected sessions, calls in flight, completed / failed / cancelled call "
          "counts, conversations held and the model providers of this " +
          server_name +
          (server_name == "exai-daemon" ? std::string(".") : std::string(" (its embedded tools).")),
      .input_schema = schema(R"({"type":"object","properties":{},"additionalProperties":false})"),
      .output_schema = schema(R"({"type":"object","properties":{
        "server":{"type":"string"},"version":{"type":"string"},"uptime_s":{"type":"number"},
        "tools":{"type":"array","items":{"type":"string"}},"sessions":{"type":"integer"},
        "in_flight":{"type":"integer"},"completed":{"type":"integer"},"failed":{"type":"integer"},
        "cancelled":{"type":"integer"},"providers":{"type":"array"},
        "providers_configured":{"type":"array","items":{"type":"string"}},
        "models_available":{"type":"array","items":{"type":"string"}},
        "conversations":{"type":"object"},"next_steps":{"type":"array","items":{"type":"string"}}},
        "required":["server","version","uptime_s","tools","sessions","in_flight","completed","failed","cancelled","providers"]})"),
      .annotations = read_only_annotations(false),
      .handler = [h, models, server_name](json::object, tool_context) {
        return ready(status_now(*h, *models, server_name));
      },
  });

  out.push_back({
      .name = "version",
      .title = "Daemon version",
      .description = "The name and version of this " + server_name +
                     ", the protocol extensions it offers and the model providers configured.",
      .input_schema = schema(R"({"type":"object","properties":{},"additionalProperties":false})"),
      .output_schema = schema(R"({"type":"object","properties":{
        "name":{"type":"string"},"version":{"type":"string"},"protocol":{"type":"string"},
        "extensions":{"type":"array","items":{"type":"string"}},
        "providers_configured":{"type":"array","items":{"type":"string"}}},"required":["name","version"]})"),
      .annotations = read_only_annotations(false),
      .handler = [server_name, models](json::object, tool_context) {
        return ready(version_now(server_name, *models));
      },
  });

  out.push_back({
      .name = "listmodels",
      .title = "List models",
      .description =
          "The model providers (GLM, Kimi, MiniMax), which are configured (an API key in the "
          "environment), their models and aliases. Without any key it says which variables to set.",
      .input_schema = schema(R"({"type":"object","properties":{},"additionalProperties":false})"),
      .output_schema = schema(R"({"type":"object","properties":{
        "providers":{"type":"array","items":{"type":"object","properties":{
          "name":{"type":"string"},"models":{"type":"array","items":{"type":"string"}}}}},
        "models":{"type":"array","items":{"type":"string"}},"default_model":{"type":"string"},
        "hint":{"type":"string"}},
        "required":["providers","models"]})"),
      .annotations = read_only_annotations(false),
      .handler = [models](json::object, tool_context) { return ready(listmodels_now(*models)); },
  });
  return out;
}

std::vector<tool_spec> diagnostics_tools() {
  // The diagnostics tools differ only in name, texts, schema and body; all are read-only.
  auto diag = [](std::string name, std::string title, std::string description, std::string_view input) {
    return tool_spec{.name = std::move(name),
                     .title = std::move(title),
                     .description = std::move(description),
                     .input_schema = schema(input),
                     .annotations = read_only_annotations(false)};
  };
  std::vector<tool_spec> out;
  out.push_back(diag("echo", "Echo", "Returns the given text unchanged (diagnostics).",
                     R"({"type":"object","properties":{"text":{"type":"string"}},
                        "required":["text"],"additionalProperties":false})"));
  out.back().handler = echo;

  out.push_back(diag("delay", "Delay",
                     "Waits `ms` milliseconds, reporting progress every `progress_every_ms` when "
                     "given, and stops at once when cancelled (diagnostics).",
                     R"({"type":"object","properties":{
                        "ms":{"type":"integer","minimum":0,"maximum":3600000},
                        "progress_every_ms":{"type":"integer","minimum":1,"maximum":3600000}},
                        "required":["ms"],"additionalProperties":false})"));
  out.back().handler = delay;

  out.push_back(diag("fail", "Fail", "Returns a tool-level error (is_error) carrying `message` (diagnostics).",
                     R"({"type":"object","properties":{"message":{"type":"string"}},
                        "required":["message"],"additionalProperties":false})"));
  out.back().handler = fail;

  out.push_back(diag("blob", "Blob",
                     "Returns a text of exactly `bytes` bytes (a repeating a-z pattern; at most 64 MiB) "
                     "to exercise large messages (diagnostics).",
                     R"({"type":"object","properties":{
                        "bytes":{"type":"integer","minimum":0,"maximum":67108864}},
                        "required":["bytes"],"additionalProperties":false})"));
  out.back().cpu_handler = blob;  // seconds of CPU for large sizes: off the caller's event loop
  return out;
}

json::object read_only_annotations(bool open_world) {
  json::object a;
  a["readOnlyHint"] = true;
  a["openWorldHint"] = open_world;
  return a;
}

}  // namespace exai::daemon::builtin
