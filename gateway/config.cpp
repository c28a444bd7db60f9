// exai-gateway configuration: command line, config file and environment into one validated
// gateway_config (gateway/config.hpp; design.md "Interface contract").
#include "gateway/config.hpp"

#include "daemon/models/model_tools.hpp"
#include "daemon/workflow/engine.hpp"
#include "daemon/profiles.hpp"
#include "gateway/pool/pool_options.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace exai::gateway {
namespace {

namespace json = boost::json;
using codecs::errc;
using codecs::error;

error bad(std::string message) { return error(errc::invalid_params, std::move(message)); }

template <class N>
std::optional<N> parse_uint(std::string_view s) {
  N n{};
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return n;
}

codecs::result<std::vector<std::string>> parse_profiles(std::string_view list,
                                                         std::string_view what) {
  std::vector<std::string> out;
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (item.empty()) continue;
    if (!daemon::profiles::is_known(item)) {
      return bad(std::string(what) + ": unknown tool profile \"" + std::string(item) +
                 "\" (profiles: " + daemon::profiles::known_list() + ")");
    }
    out.emplace_back(item);
  }
  if (out.empty()) return bad(std::string(what) + ": no tool profile given");
  return out;
}

codecs::result<std::string> check_upstream(std::string_view url, std::string_view what) {
  if (url == "embedded") return std::string(url);
  if (url.starts_with("ws://") || url.starts_with("wss://")) {
    if (url.size() <= 5 || url.find(':', 5) == std::string_view::npos) {
      return bad(std::string(what) + ": \"" + std::string(url) + "\" needs a port (ws://HOST:PORT)");
    }
    return std::string(url);
  }
  return bad(std::string(what) + ": \"" + std::string(url) +
             "\" is neither \"embedded\" nor ws://HOST:PORT");
}

codecs::result<obs::level> parse_level(std::string_view s, std::string_view what) {
  auto l = obs::parse_level(s);
  if (!l) {
    return bad(std::string(what) + ": unknown log level \"" + std::string(s) +
               "\" (trace, debug, info, warn, error, off)");
  }
  return *l;
}

// Reads one JSON object of the config file, remembering which keys were consumed so an unknown
// key can be named (a typo must stop startup, not be ignored).
class section {
 public:
  section(const json::object& o, std::string path) : o_(o), path_(std::move(path)) {}

  std::string name(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  const json::value* get(std::string_view key) {
    seen_.emplace_back(key);
    return o_.if_contains(key);
  }
  codecs::result<std::optional<std::uint64_t>> uint(std::string_view key, std::uint64_t min,
                                                    std::uint64_t max) {
    const auto* v = get(key);
    if (!v || v->is_null()) return std::optional<std::uint64_t>();
    std::uint64_t n = 0;
    if (v->is_uint64()) {
      n = v->get_uint64();
    } else if (v->is_int64() && v->get_int64() >= 0) {
      n = static_cast<std::uint64_t>(v->get_int64());
    } else {
      return bad(name(key) + ": must be a non-negative integer");
    }
    if (n < min || n > max) {
      return bad(name(key) + ": must be between " + std::to_string(min) + " and " +
                 std::to_string(max));
    }
    return std::optional<std::uint64_t>(n);
  }
  codecs::result<std::optional<std::string>> string(std::string_view key) {
    const auto* v = get(key);
    if (!v || v->is_null()) return std::optional<std::string>();
    if (!v->is_string()) return bad(name(key) + ": must be a string");
    return std::optional<std::string>(std::string(v->get_string()));
  }
  codecs::result<const json::object*> object(std::string_view key) {
    const auto* v = get(key);
    if (!v || v->is_null()) return static_cast<const json::object*>(nullptr);
    if (!v->is_object()) return bad(name(key) + ": must be an object");
    return &v->get_object();
  }
  codecs::result<std::optional<std::vector<std::string>>> strings(std::string_view key) {
    const auto* v = get(key);
    if (!v || v->is_null()) return std::optional<std::vector<std::string>>();
    if (!v->is_array()) return bad(name(key) + ": must be an array of strings");
    std::vector<std::string> out;
    for (const auto& e : v->get_array()) {
      if (!e.is_string()) return bad(name(key) + ": must be an array of strings");
      out.emplace_back(e.get_string());
    }
    return std::optional<std::vector<std::string>>(std::move(out));
  }
  // The first key that nobody asked for.
  std::optional<std::string> unknown() const {
    for (const auto& kv : o_) {
      bool known = false;
      for (const auto& s : seen_) known = known || s == kv.key();
      if (!known) return name(kv.key());
    }
    return std::nullopt;
  }

 private:
  const json::object& o_;
  std::string path_;
  std::vector<std::string> seen_;
};

constexpr std::uint64_t max_ms = 24ull * 3600 * 1000;

#define EXAI_TRY(var, expr)             \
  auto var##_r = (expr);                \
  if (!var##_r) return var##_r.error(); \
  auto var = std::move(*var##_r)

// Raw command-line values, applied last (highest precedence).
struct cli {
  command cmd = command::run;
  bool stdio = false;
  std::optional<std::string> listen, admin, config, log_level, log_format, log_file, ready_file,
      tools, call_timeout, shutdown_grace;
  std::vector<std::string> upstreams;
};

codecs::result<cli> parse_args(const std::vector<std::string>& args) {
  cli c;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    std::string_view flag = a;
    std::optional<std::string> inline_value;
    if (auto eq = a.find('='); a.starts_with("--") && eq != std::string_view::npos) {
      flag = a.substr(0, eq);
      inline_value = std::string(a.substr(eq + 1));
    }
    auto value = [&]() -> codecs::result<std::string> {
      if (inline_value) return *inline_value;
      if (i + 1 >= args.size()) return bad(std::string(flag) + ": needs a value");
      return args[++i];
    };
    auto set = [&](std::optional<std::string>& slot) -> codecs::result<void> {
      auto v = value();
      if (!v) return v.error();
      slot = std::move(*v);
      return {};
    };
    codecs::result<void> r;
    if (flag == "--help" || flag == "-h") {
      c.cmd = command::help;
    } else if (flag == "--version") {
      c.cmd = command::version;
    } else if (flag == "--print-config") {
      c.cmd = command::print_config;
    } else if (flag == "--stdio") {
      c.stdio = true;
    } else if (flag == "--listen") {
      r = set(c.listen);
    } else if (flag == "--admin") {
      r = set(c.admin);
    } else if (flag == "--config") {
      r = set(c.config);
    } else if (flag == "--log-level") {
      r = set(c.log_level);
    } else if (flag == "--log-format") {
      r = set(c.log_format);
    } else if (flag == "--log-file") {
      r = set(c.log_file);
    } else if (flag == "--ready-file") {
      r = set(c.ready_file);
    } else if (flag == "--tools") {
      r = set(c.tools);
    } else if (flag == "--call-timeout-ms") {
      r = set(c.call_timeout);
    } else if (flag == "--shutdown-grace-ms") {
      r = set(c.shutdown_grace);
    } else if (flag == "--upstream") {
      auto v = value();
      if (!v) return v.error();
      c.upstreams.push_back(std::move(*v));
    } else {
      return bad(std::string(a) + ": unknown option (see --help)");
    }
    if (!r) return r.error();
  }
  return c;
}

codecs::result<milliseconds> parse_ms(std::string_view text, std::string_view what,
                                      std::uint64_t min = 1) {
  auto n = parse_uint<std::uint64_t>(text);
  if (!n || *n < min || *n > max_ms) {
    return bad(std::string(what) + ": \"" + std::string(text) + "\" is not a number of " +
               "milliseconds between " + std::to_string(min) + " and " + std::to_string(max_ms));
  }
  return milliseconds(static_cast<milliseconds::rep>(*n));
}

codecs::result<std::optional<host_port>> parse_optional_endpoint(std::string_view text,
                                                                  std::string_view what) {
  if (text == "off" || text == "none" || text.empty()) return std::optional<host_port>();
  auto hp = parse_host_port(text);
  if (!hp) return bad(std::string(what) + ": " + hp.error().message);
  return std::optional<host_port>(*hp);
}

codecs::result<json::object> read_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad("--config: cannot open \"" + path + "\"");
  std::stringstream ss;
  ss << in.rdbuf();
  boost::system::error_code ec;
  json::value v = json::parse(ss.str(), ec);
  if (ec) return bad(path + ": not valid JSON: " + ec.message());
  if (!v.is_object()) return bad(path + ": must be a JSON object");
  return std::move(v.get_object());
}

}  // namespace

std::string host_port::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

codecs::result<host_port> parse_host_port(std::string_view text) {
  host_port hp;
  std::string_view port_text;
  if (text.starts_with("[")) {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad("\"" + std::string(text) + "\" is not HOST:PORT");
    }
    hp.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
      return bad("\"" + std::string(text) + "\" is not HOST:PORT");
    }
    hp.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  auto port = parse_uint<std::uint32_t>(port_text);
  if (hp.host.empty() || !port || *port > 65535) {
    return bad("\"" + std::string(text) + "\" is not HOST:PORT (port 0..65535)");
  }
  hp.port = static_cast<std::uint16_t>(*port);
  return hp;
}

env_lookup process_env() {
  return [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

codecs::result<gateway_config> apply_config_file(gateway_config c, const json::object& file,
                                                 std::string_view file_name) {
  const std::string prefix = std::string(file_name) + ": ";
  auto fail = [&](const error& e) { return bad(prefix + e.message); };
  section top(file, "");

  for (std::string_view secret : {"token", "client_token", "upstream_token"}) {
    if (file.contains(secret)) {
      return bad(prefix + std::string(secret) +
                 ": tokens are read from the environment only (EXAI_GATEWAY_TOKEN, EXAI_WS_TOKEN)");
    }
  }
  {
    auto v = top.string("listen");
    if (!v) return fail(v.error());
    if (*v) {
      auto hp = parse_optional_endpoint(**v, "listen");
      if (!hp) return fail(hp.error());
      c.listen = *hp;
    }
  }
  {
    auto v = top.string("admin");
    if (!v) return fail(v.error());
    if (*v) {
      auto hp = parse_optional_endpoint(**v, "admin");
      if (!hp) return fail(hp.error());
      c.admin = *hp;
      c.admin_explicit = true;
    }
  }
  {
    auto v = top.uint("shutdown_grace_ms", 0, max_ms);
    if (!v) return fail(v.error());
    if (*v) c.shutdown_grace = milliseconds(**v);
  }
  {
    auto log = top.object("log");
    if (!log) return fail(log.error());
    if (*log) {
      section s(**log, "log");
      auto level = s.string("level");
      if (!level) return fail(level.error());
      if (*level) {
        auto l = parse_level(**level, s.name("level"));
        if (!l) return fail(l.error());
        c.log.min_level = *l;
      }
      auto format = s.string("format");
      if (!format) return fail(format.error());
      if (*format) {
        if (**format != "text" && **format != "json") {
          return bad(prefix + "log.format: must be \"text\" or \"json\"");
        }
        c.log.json = **format == "json";
      }
      auto file_path = s.string("file");
      if (!file_path) return fail(file_path.error());
      if (*file_path) c.log.file = **file_path;
      auto rotate = s.uint("rotate_bytes", 4096, 1ull << 40);
      if (!rotate) return fail(rotate.error());
      if (*rotate) c.log.rotate_bytes = **rotate;
      auto keep = s.uint("keep_files", 1, 1000);
      if (!keep) return fail(keep.error());
      if (*keep) c.log.keep_files = static_cast<unsigned>(**keep);
      if (auto u = s.unknown()) return bad(prefix + *u + ": unknown key");
    }
  }
  {
    auto up = top.object("upstream");
    if (!up) return fail(up.error());
    if (*up) {
      c.upstream_section = **up;
      // The pool validates the rest of this section (gateway/pool/pool_options.hpp); here only
      // the URLs, to choose between the embedded backend and the pool.
      std::vector<std::string> urls;
      if (const auto* u = (*up)->if_contains("urls")) {
        if (!u->is_array()) return bad(prefix + "upstream.urls: must be an array of strings");
        for (const auto& e : u->get_array()) {
          if (!e.is_string()) return bad(prefix + "upstream.urls: must be an array of strings");
          urls.emplace_back(e.get_string());
        }
      }
      if (const auto* u = (*up)->if_contains("url")) {
        if (!u->is_string()) return bad(prefix + "upstream.url: must be a string");
        urls.emplace_back(u->get_string());
      }
      for (const auto& u : urls) {
        auto ok = check_upstream(u, "upstream.urls");
        if (!ok) return fail(ok.error());
      }
      // The pool's own keys, parsed once here whichever backend runs, so a typo never waits for
      // the day the daemon is switched on; load_config adds the endpoints, token and budgets.
      auto keys = pool::parse_pool_keys(**up);
      if (!keys) return fail(keys.error());
      c.pool = std::move(*keys);
      if (!urls.empty()) c.upstreams = std::move(urls);
    }
  }
  {
    auto tools = top.object("tools");
    if (!tools) return fail(tools.error());
    if (*tools) {
      section s(**tools, "tools");
      auto profiles = s.strings("profiles");
      if (!profiles) return fail(profiles.error());
      if (*profiles) {
        std::string joined;
        for (const auto& p : **profiles) joined += p + ",";
        auto p = parse_profiles(joined, s.name("profiles"));
        if (!p) return fail(p.error());
        c.profiles = std::move(*p);
      }
      auto timeout = s.uint("call_timeout_ms", 1, max_ms);
      if (!timeout) return fail(timeout.error());
      if (*timeout) c.call_timeout = milliseconds(**timeout);
      auto page = s.uint("page_size", 0, 100000);
      if (!page) return fail(page.error());
      if (*page) c.page_size = **page;
      auto per_tool = s.object("timeouts_ms");
      if (!per_tool) return fail(per_tool.error());
      if (*per_tool) {
        section t(**per_tool, "tools.timeouts_ms");
        for (const auto& kv : **per_tool) {
          auto ms = t.uint(kv.key(), 1, max_ms);
          if (!ms) return fail(ms.error());
          c.tool_timeouts[std::string(kv.key())] = milliseconds(**ms);
        }
      }
      if (auto u = s.unknown()) return bad(prefix + *u + ": unknown key");
    }
  }
  {
    auto ws = top.object("websocket");
    if (!ws) return fail(ws.error());
    if (*ws) {
      section s(**ws, "websocket");
      auto& w = c.websocket;
      auto size = [&](std::string_view key, std::size_t& slot, std::uint64_t min,
                      std::uint64_t max) -> codecs::result<void> {
        auto v = s.uint(key, min, max);
        if (!v) return v.error();
        if (*v) slot = static_cast<std::size_t>(**v);
        return {};
      };
      auto dur = [&](std::string_view key, milliseconds& slot) -> codecs::result<void> {
        auto v = s.uint(key, 1, max_ms);
        if (!v) return v.error();
        if (*v) slot = milliseconds(**v);
        return {};
      };
      for (auto r : {size("max_message_bytes", w.max_message_bytes, 1024, 1ull << 32),
                     size("max_connections", w.max_connections, 1, 1000000),
                     size("max_inflight_per_session", w.max_inflight_per_session, 1, 1000000),
                     size("max_queued_per_session", w.max_queued_per_session, 1, 1000000),
                     size("max_bytes_per_session", w.max_bytes_per_session, 65536, 1ull << 40),
                     size("max_batch_elements", w.max_batch_elements, 1, 1000000),
                     dur("idle_timeout_ms", w.idle_timeout),
                     dur("handshake_timeout_ms", w.handshake_timeout)}) {
        if (!r) return fail(r.error());
      }
      auto origins = s.strings("allowed_origins");
      if (!origins) return fail(origins.error());
      if (*origins) w.allowed_origins = std::move(**origins);
      if (auto u = s.unknown()) return bad(prefix + *u + ": unknown key");
    }
  }
  {
    auto hs = top.object("http");
    if (!hs) return fail(hs.error());
    if (*hs) {
      section s(**hs, "http");
      auto& h = c.http;
      auto dur = [&](std::string_view key, milliseconds& slot) -> codecs::result<void> {
        auto v = s.uint(key, 1, max_ms);
        if (!v) return v.error();
        if (*v) slot = milliseconds(**v);
        return {};
      };
      auto sessions = s.uint("max_sessions", 1, 10000000);
      if (!sessions) return fail(sessions.error());
      if (*sessions) h.max_sessions = static_cast<std::size_t>(**sessions);
      for (auto r : {dur("session_idle_ms", h.session_idle),
                     dur("session_lifetime_ms", h.session_lifetime),
                     dur("sse_after_ms", h.sse_after)}) {
        if (!r) return fail(r.error());
      }
      if (auto u = s.unknown()) return bad(prefix + *u + ": unknown key");
    }
  }
  {
    auto st = top.object("stdio");
    if (!st) return fail(st.error());
    if (*st) {
      section s(**st, "stdio");
      auto grace = s.uint("eof_grace_ms", 0, max_ms);
      if (!grace) return fail(grace.error());
      if (*grace) c.stdio_eof_grace = milliseconds(**grace);
      if (auto u = s.unknown()) return bad(prefix + *u + ": unknown key");
    }
  }
  top.get("$comment");  // a place for notes in the file
  if (auto u = top.unknown()) return bad(prefix + *u + ": unknown key");
  return c;
}

codecs::result<startup> load_config(const std::vector<std::string>& args, const env_lookup& env) {
  EXAI_TRY(a, parse_args(args));
  startup s;
  s.cmd = a.cmd;
  gateway_config& c = s.config;
  if (s.cmd == command::help || s.cmd == command::version) return s;

  // 1. The file.
  if (a.config) {
    c.config_file = *a.config;
    EXAI_TRY(file, read_config_file(*a.config));
    EXAI_TRY(applied, apply_config_file(std::move(c), file, *a.config));
    c = std::move(applied);
  }

  // 2. The environment (drop-in names of the Python shim, design.md).
  if (auto v = env("LOG_LEVEL"); v && !v->empty()) {
    EXAI_TRY(l, parse_level(*v, "LOG_LEVEL"));
    c.log.min_level = l;
  }
  auto ws_host = env("EXAI_WS_HOST");
  auto ws_port = env("EXAI_WS_PORT");
  if ((ws_host && !ws_host->empty()) || (ws_port && !ws_port->empty())) {
    std::string host = ws_host && !ws_host->empty() ? *ws_host : "127.0.0.1";
    std::string port = ws_port && !ws_port->empty() ? *ws_port : "3010";
    auto p = parse_uint<std::uint32_t>(port);
    if (!p || *p == 0 || *p > 65535) return bad("EXAI_WS_PORT: \"" + port + "\" is not a port");
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    c.upstreams = {"ws://" + host + ":" + port};
  }
  if (auto v = env("EXAI_WS_TOKEN")) c.upstream_token = *v;
  if (auto v = env("EXAI_GATEWAY_TOKEN")) c.client_token = *v;

  // 3. The command line.
  c.stdio = a.stdio;
  if (a.listen) {
    EXAI_TRY(hp, parse_optional_endpoint(*a.listen, "--listen"));
    c.listen = hp;
  }
  if (a.admin) {
    EXAI_TRY(hp, parse_optional_endpoint(*a.admin, "--admin"));
    c.admin = hp;
    c.admin_explicit = true;
  }
  if (a.log_level) {
    EXAI_TRY(l, parse_level(*a.log_level, "--log-level"));
    c.log.min_level = l;
  }
  if (a.log_format) {
    if (*a.log_format != "text" && *a.log_format != "json") {
      return bad("--log-format: must be text or json");
    }
    c.log.json = *a.log_format == "json";
  }
  if (a.log_file) c.log.file = *a.log_file;
  if (a.ready_file) c.ready_file = *a.ready_file;
  if (a.tools) {
    EXAI_TRY(p, parse_profiles(*a.tools, "--tools"));
    c.profiles = std::move(p);
  }
  if (a.call_timeout) {
    EXAI_TRY(ms, parse_ms(*a.call_timeout, "--call-timeout-ms"));
    c.call_timeout = ms;
  }
  if (a.shutdown_grace) {
    EXAI_TRY(ms, parse_ms(*a.shutdown_grace, "--shutdown-grace-ms", 0));
    c.shutdown_grace = ms;
  }
  if (!a.upstreams.empty()) {
    std::vector<std::string> ups;
    for (const auto& u : a.upstreams) {
      EXAI_TRY(ok, check_upstream(u, "--upstream"));
      ups.push_back(std::move(ok));
    }
    c.upstreams = std::move(ups);
  }

  // 4. Derived defaults.
  if (c.upstreams.empty()) c.upstreams = {"embedded"};
  // Model tools stream for minutes: unless configured per tool, their deadline is their own
  // budget plus a margin (so a daemon's clear timeout answer arrives first), never shorter than
  // the default call timeout.
  auto budgets = daemon::models::model_tool_budgets();
  for (auto& b : daemon::workflow::workflow_tool_budgets()) budgets.push_back(std::move(b));
  for (const auto& [tool, budget] : budgets) {
    if (!c.tool_timeouts.contains(tool))
      c.tool_timeouts[tool] = std::max(c.call_timeout, budget + milliseconds(5'000));
  }
  bool has_embedded = false;
  for (const auto& u : c.upstreams) has_embedded = has_embedded || u == "embedded";
  if (has_embedded && c.upstreams.size() > 1) {
    return bad("--upstream: \"embedded\" cannot be combined with daemon URLs");
  }
  // The daemon pool: its endpoints and token (its calls' deadlines come from the routes).
  c.pool.token = c.upstream_token;
  c.pool.endpoints.clear();
  if (!c.embedded()) {
    for (const auto& u : c.upstreams) {
      auto ep = pool::parse_ws_url(u);
      if (!ep) return bad("--upstream: " + ep.error().message);
      c.pool.endpoints.push_back(std::move(*ep));
    }
  }
  // Without --stdio the gateway is a WebSocket server; a stdio instance holds no port unless the
  // command line asks for one (many stdio instances coexist).
  if (c.stdio) {
    if (!a.listen) c.listen.reset();
    if (!a.admin) {
      c.admin.reset();
      c.admin_explicit = false;
    }
  } else if (!a.listen && !c.listen) {
    c.listen = host_port{"127.0.0.1", 3005};
  }
  // Admin is on by default next to a WebSocket listener: port 3002, or a free port when
  // the listener itself uses port 0 (tests run many gateways side by side).
  if (c.listen && !c.admin && !c.admin_explicit) {
    c.admin = host_port{c.listen->host, static_cast<std::uint16_t>(c.listen->port == 0 ? 0 : 3002)};
  }
  if (!c.stdio && !c.listen) return bad("nothing to serve: give --stdio or --listen HOST:PORT");
  return s;
}

json::object to_json(const gateway_config& c) {
  // The layout of conf/gateway.json, plus what only flags set (stdio, ready_file) and whether
  // each token is set. Bookkeeping fields (admin_explicit, config_file) stay out.
  auto ms = [](milliseconds d) { return static_cast<std::int64_t>(d.count()); };
  auto secret = [](const std::string& t) { return t.empty() ? std::string() : "<redacted>"; };
  auto strings = [](const std::vector<std::string>& v) {
    json::array a;
    for (const auto& x : v) a.emplace_back(x);
    return a;
  };
  json::object o;
  o["listen"] = c.listen ? json::value(c.listen->to_string()) : json::value(nullptr);
  o["admin"] = c.admin ? c.admin->to_string() : "off";
  if (!c.ready_file.empty()) o["ready_file"] = c.ready_file;
  json::object log;
  log["level"] = obs::to_string(c.log.min_level);
  log["format"] = c.log.json ? "json" : "text";
  log["file"] = c.log.file;
  log["rotate_bytes"] = c.log.rotate_bytes;
  log["keep_files"] = c.log.keep_files;
  o["log"] = std::move(log);
  // The pool's keys as the file gave them (the pool applies their defaults, conf/README.md);
  // `url` is already folded into `urls`.
  json::object upstream;
  upstream["urls"] = strings(c.upstreams);
  for (const auto& [k, v] : c.upstream_section)
    if (k != "urls" && k != "url") upstream[k] = v;
  o["upstream"] = std::move(upstream);
  json::object tools;
  tools["profiles"] = strings(c.profiles);
  tools["call_timeout_ms"] = ms(c.call_timeout);
  json::object per_tool;
  for (const auto& [k, v] : c.tool_timeouts) per_tool[k] = ms(v);
  tools["timeouts_ms"] = std::move(per_tool);
  tools["page_size"] = c.page_size;
  o["tools"] = std::move(tools);
  json::object ws;
  ws["max_message_bytes"] = c.websocket.max_message_bytes;
  ws["max_connections"] = c.websocket.max_connections;
  ws["max_inflight_per_session"] = c.websocket.max_inflight_per_session;
  ws["max_queued_per_session"] = c.websocket.max_queued_per_session;
  ws["max_bytes_per_session"] = c.websocket.max_bytes_per_session;
  ws["max_batch_elements"] = c.websocket.max_batch_elements;
  ws["idle_timeout_ms"] = ms(c.websocket.idle_timeout);
  ws["handshake_timeout_ms"] = ms(c.websocket.handshake_timeout);
  ws["allowed_origins"] = strings(c.websocket.allowed_origins);
  o["websocket"] = std::move(ws);
  json::object http;
  http["session_idle_ms"] = ms(c.http.session_idle);
  http["session_lifetime_ms"] = ms(c.http.session_lifetime);
  http["sse_after_ms"] = ms(c.http.sse_after);
  http["max_sessions"] = c.http.max_sessions;
  o["http"] = std::move(http);
  o["shutdown_grace_ms"] = ms(c.shutdown_grace);
  json::object stdio;
  stdio["enabled"] = c.stdio;
  stdio["eof_grace_ms"] = ms(c.stdio_eof_grace);
  o["stdio"] = std::move(stdio);
  // Tokens come from the environment only: shown as "<redacted>" when set, "" when not.
  json::object env;
  env["EXAI_WS_TOKEN"] = secret(c.upstream_token);
  env["EXAI_GATEWAY_TOKEN"] = secret(c.client_token);
  o["tokens"] = std::move(env);
  return o;
}

std::string usage() {
  return R"(exai-gateway: MCP over stdio and WebSocket (plus op-protocol clients) in front of the EXAI tools.

Usage: exai-gateway [--stdio] [--listen HOST:PORT] [options]

Transports
  --stdio                   serve MCP on stdin/stdout (one JSON message per line)
  --listen HOST:PORT        serve WebSocket (MCP and op clients; port 0 picks a free port);
                            default 127.0.0.1:3005 when --stdio is not given
  --admin HOST:PORT|off     admin HTTP: /health, /ready, /metrics; default 127.0.0.1:3002 next
                            to --listen (a free port when --listen uses port 0), off with --stdio
  --ready-file FILE         written once listening: {"ws":"HOST:PORT","admin":"HOST:PORT"}
Backend
  --upstream embedded|ws://HOST:PORT
                            embedded tool host (default) or a daemon; repeat for replicas
  --tools PROFILE[,PROFILE] embedded tools: core (always), models (chat, challenge; default),
                            diagnostics (echo, delay, fail, blob), conformance (the
                            MCP conformance suite's fixture tools); default core,models
  --call-timeout-ms N       default per-call deadline (300000); per-tool: tools.timeouts_ms
Operations
  --config FILE             JSON configuration (see conf/gateway.json)
  --log-level LEVEL         trace, debug, info, warn, error, off (default info)
  --log-format text|json    log records on stderr as text or JSON lines
  --log-file FILE           also write logs to FILE (rotated)
  --shutdown-grace-ms N     SIGTERM/SIGINT: time in-flight calls get to finish (10000)
  --print-config            print the effective configuration (secrets redacted) and exit
  --version, --help

Environment: LOG_LEVEL; EXAI_WS_HOST, EXAI_WS_PORT (upstream daemon), EXAI_WS_TOKEN (its token);
EXAI_GATEWAY_TOKEN (clients must present it: Authorization: Bearer for MCP over WebSocket, the
hello token for op clients). Precedence: command line > environment > config file > defaults.
)";
}

}  // namespace exai::gateway
