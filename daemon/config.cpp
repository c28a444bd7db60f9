// Reads daemon.json, the environment (EXAI_WS_TOKEN, EXAI_WS_HOST/PORT, EXAI_WS_MAX_BYTES,
// EXAI_WS_HELLO_TIMEOUT, LOG_LEVEL) and the command line into a daemon_config; every bad key or
// value is reported by name. No Asio here.
#include "daemon/config.hpp"

#include "daemon/profiles.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

namespace exai::daemon {

namespace json = boost::json;
using codecs::errc;
using codecs::error;

namespace {

error bad(std::string key, std::string what) { return error(errc::invalid_params, key + ": " + what); }

codecs::result<std::uint64_t> as_count(const json::value& v, const std::string& key, std::uint64_t min,
                                       std::uint64_t max) {
  std::uint64_t n = 0;
  if (v.is_uint64()) {
    n = v.get_uint64();
  } else if (v.is_int64() && v.get_int64() >= 0) {
    n = static_cast<std::uint64_t>(v.get_int64());
  } else {
    return bad(key, "expected an integer >= " + std::to_string(min));
  }
  if (n < min || n > max)
    return bad(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  return n;
}

codecs::result<std::string> as_string(const json::value& v, const std::string& key) {
  if (!v.is_string()) return bad(key, "expected a string");
  return std::string(v.get_string());
}

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    auto comma = s.find(',', start);
    auto part = s.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (!part.empty()) out.emplace_back(part);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

codecs::result<std::vector<std::string>> check_profiles(std::vector<std::string> p, const std::string& key) {
  if (p.empty()) return bad(key, "expected at least one profile (" + profiles::known_list() + ")");
  for (const auto& s : p)
    if (!profiles::is_known(s)) return bad(key, "unknown profile '" + s + "' (known: " + profiles::known_list() + ")");
  return p;
}

codecs::result<bool> parse_compat(std::string_view v, const std::string& key) {
  if (v == "reference") return true;
  if (v == "none" || v.empty()) return false;
  return bad(key, "expected \"reference\" or \"none\"");
}

bool valid_level(std::string_view l) {
  for (auto k : {"trace", "debug", "info", "warn", "warning", "error", "off"})
    if (l == k) return true;
  return false;
}

codecs::result<void> apply_limits(const json::object& o, daemon_limits& l, bool& per_ip_set) {
  for (const auto& [k, v] : o) {
    const std::string key = "limits." + std::string(k);
    if (k == "max_message_bytes") {
      auto n = as_count(v, key, 1024, 1ull << 30);
      if (!n) return n.error();
      l.max_message_bytes = *n;
    } else if (k == "max_connections") {
      auto n = as_count(v, key, 1, 1'000'000);
      if (!n) return n.error();
      l.max_connections = *n;
    } else if (k == "max_connections_per_ip") {
      auto n = as_count(v, key, 0, 1'000'000);
      if (!n) return n.error();
      l.max_connections_per_ip = *n;
      per_ip_set = true;
    } else if (k == "max_inflight") {
      auto n = as_count(v, key, 1, 65'536);
      if (!n) return n.error();
      l.max_inflight = static_cast<std::uint32_t>(*n);
    } else if (k == "max_queued_bytes") {
      auto n = as_count(v, key, 1024, 1ull << 34);
      if (!n) return n.error();
      l.max_queued_bytes = *n;
    } else {
      return bad(key, "unknown key");
    }
  }
  return {};
}

codecs::result<void> apply_timeouts(const json::object& o, daemon_timeouts& t) {
  constexpr std::uint64_t day = 86'400'000;
  for (const auto& [k, v] : o) {
    const std::string key = "timeouts." + std::string(k);
    std::chrono::milliseconds* target = nullptr;
    std::uint64_t min = 0;
    if (k == "hello_ms") target = &t.hello, min = 1;
    else if (k == "handshake_ms") target = &t.handshake, min = 1;
    else if (k == "idle_ms") target = &t.idle;
    else if (k == "call_ms") target = &t.call;
    else if (k == "shutdown_grace_ms") target = &t.shutdown_grace;
    else if (k == "progress_interval_ms") target = &t.progress_interval;
    else return bad(key, "unknown key");
    auto n = as_count(v, key, min, day);
    if (!n) return n.error();
    *target = std::chrono::milliseconds(*n);
  }
  return {};
}

codecs::result<void> apply_object(const json::object& o, daemon_config& cfg, bool& per_ip_set) {
  for (const auto& [k, v] : o) {
    const std::string key(k);
    if (k == "listen" || k == "admin") {
      auto s = as_string(v, key);
      if (!s) return s.error();
      if (!s->empty() || k == "listen") {
        auto hp = split_host_port(*s);
        if (!hp) return bad(key, hp.error().message);
      }
      (k == "listen" ? cfg.listen : cfg.admin) = *s;
    } else if (k == "tools") {
      std::vector<std::string> p;
      if (v.is_string()) {
        p = split_list(v.get_string());
      } else if (v.is_array()) {
        for (const auto& e : v.get_array()) {
          if (!e.is_string()) return bad(key, "expected profile names as strings");
          p.emplace_back(e.get_string());
        }
      } else {
        return bad(key, "expected an array of profiles or \"core,diagnostics\"");
      }
      auto c = check_profiles(std::move(p), key);
      if (!c) return c.error();
      cfg.tools = std::move(*c);
    } else if (k == "compat") {
      auto s = as_string(v, key);
      if (!s) return s.error();
      auto c = parse_compat(*s, key);
      if (!c) return c.error();
      cfg.compat_reference = *c;
    } else if (k == "log_level") {
      auto s = as_string(v, key);
      if (!s) return s.error();
      if (!valid_level(*s)) return bad(key, "expected trace, debug, info, warn, error or off");
      cfg.log_level = *s;
    } else if (k == "limits") {
      if (!v.is_object()) return bad(key, "expected an object");
      auto r = apply_limits(v.get_object(), cfg.limits, per_ip_set);
      if (!r) return r.error();
    } else if (k == "timeouts") {
      if (!v.is_object()) return bad(key, "expected an object");
      auto r = apply_timeouts(v.get_object(), cfg.timeouts);
      if (!r) return r.error();
    } else if (k == "providers") {
      return bad(key, "no longer a config key: providers are configured by their API keys in the "
                      "environment (GLM_API_KEY, KIMI_API_KEY, MINIMAX_M2_KEY; see providers/README.md)");
    } else if (k == "token") {
      return bad(key, "not allowed in a file; the token comes from EXAI_WS_TOKEN only");
    } else {
      return bad(key, "unknown key");
    }
  }
  return {};
}

codecs::result<void> apply_json_text(std::string_view text, daemon_config& cfg, bool& per_ip_set) {
  boost::system::error_code ec;
  json::parse_options opts;
  opts.allow_comments = true;
  opts.allow_trailing_commas = true;
  auto v = json::parse(text, ec, {}, opts);
  if (ec) return error(errc::parse_error, "not valid JSON: " + ec.message());
  if (!v.is_object()) return error(errc::invalid_params, "the config must be a JSON object");
  return apply_object(v.get_object(), cfg, per_ip_set);
}

}  // namespace

codecs::result<std::pair<std::string, std::uint16_t>> split_host_port(std::string_view s) {
  std::string_view host, port;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return error(errc::invalid_params, "expected [IPV6]:PORT, got '" + std::string(s) + "'");
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos)
      return error(errc::invalid_params, "expected HOST:PORT, got '" + std::string(s) + "'");
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || port.empty() || ec != std::errc() || p != port.data() + port.size() || value > 65535)
    return error(errc::invalid_params, "expected HOST:PORT with a port 0-65535, got '" + std::string(s) + "'");
  return std::pair<std::string, std::uint16_t>(std::string(host), static_cast<std::uint16_t>(value));
}

codecs::result<void> apply_config_json(std::string_view text, daemon_config& cfg) {
  bool per_ip_set = false;
  return apply_json_text(text, cfg, per_ip_set);
}

json::object to_json(const daemon_config& cfg) {
  auto ms = [](std::chrono::milliseconds d) { return static_cast<std::int64_t>(d.count()); };
  json::object o;
  o["listen"] = cfg.listen;
  o["admin"] = cfg.admin;
  if (!cfg.ready_file.empty()) o["ready_file"] = cfg.ready_file;
  json::array tools;
  for (const auto& t : cfg.tools) tools.emplace_back(t);
  o["tools"] = std::move(tools);
  o["compat"] = cfg.compat_reference ? "reference" : "none";
  o["log_level"] = cfg.log_level;
  json::object limits;
  limits["max_message_bytes"] = cfg.limits.max_message_bytes;
  limits["max_connections"] = cfg.limits.max_connections;
  limits["max_connections_per_ip"] = cfg.limits.max_connections_per_ip;
  limits["max_inflight"] = cfg.limits.max_inflight;
  limits["max_queued_bytes"] = cfg.limits.max_queued_bytes;
  o["limits"] = std::move(limits);
  json::object t;
  t["hello_ms"] = ms(cfg.timeouts.hello);
  t["handshake_ms"] = ms(cfg.timeouts.handshake);
  t["idle_ms"] = ms(cfg.timeouts.idle);
  t["call_ms"] = ms(cfg.timeouts.call);
  t["shutdown_grace_ms"] = ms(cfg.timeouts.shutdown_grace);
  t["progress_interval_ms"] = ms(cfg.timeouts.progress_interval);
  o["timeouts"] = std::move(t);
  o["tokens"] = json::object{{"EXAI_WS_TOKEN", cfg.token.empty() ? "" : "<redacted>"}};
  return o;
}

std::string usage_text() {
  return R"(Usage: exai-daemon [options]

The EXAI op-protocol tool daemon (WebSocket). Options:
  --listen HOST:PORT     address to serve (default 127.0.0.1:3010; port 0 picks a free port)
  --ready-file FILE      once listening, write {"ws":"HOST:PORT"} to FILE (atomically)
  --tools LIST           tool profiles: core (always on), models (chat, challenge),
                         diagnostics (echo, delay, fail, blob), conformance (the MCP
                         conformance suite's fixture tools); default core,models
  --compat reference     behave exactly like the reference daemon on the wire
  --config FILE          daemon.json (listen, tools, limits, timeouts)
  --admin HOST:PORT      serve /health and /metrics over HTTP
  --log-level LEVEL      trace, debug, info, warn, error, off (default info)
  --print-config         print the effective configuration (the token redacted) and exit
  --version              print the version and exit
  --help                 print this text and exit

Environment: EXAI_WS_TOKEN (required token; empty = no authentication), EXAI_WS_HOST and
EXAI_WS_PORT (listen address), EXAI_WS_MAX_BYTES (message limit), EXAI_WS_HELLO_TIMEOUT
(seconds), LOG_LEVEL. Precedence: command line > environment > config file > defaults.
Model providers: GLM_API_KEY, KIMI_API_KEY, MINIMAX_M2_KEY (and their URLs, see the README);
EXAI_ALLOWED_ROOTS: folders the model tools may read files from (default: the working directory).
)";
}

codecs::result<cli_result> parse_command_line(const std::vector<std::string>& args, env_lookup env) {
  cli_result out;
  daemon_config& cfg = out.config;
  bool per_ip_set = false;

  // Split "--flag=value" and "--flag value" into pairs first, so --config can be applied before
  // the environment and the other flags (precedence).
  std::vector<std::pair<std::string, std::optional<std::string>>> flags;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") { out.what = cli_result::action::help; return out; }
    if (a == "--version") { out.what = cli_result::action::version; return out; }
    if (a == "--print-config") { out.what = cli_result::action::print_config; continue; }
    if (!a.starts_with("--")) return error(errc::invalid_params, "unexpected argument '" + a + "'");
    auto eq = a.find('=');
    if (eq != std::string::npos) {
      flags.emplace_back(a.substr(0, eq), a.substr(eq + 1));
    } else if (i + 1 < args.size()) {
      flags.emplace_back(a, args[++i]);
    } else {
      return error(errc::invalid_params, a + ": missing value");
    }
  }

  for (const auto& [flag, value] : flags) {
    if (flag != "--config") continue;
    std::ifstream in(*value, std::ios::binary);
    if (!in) return error(errc::invalid_params, "--config: cannot read '" + *value + "'");
    std::stringstream ss;
    ss << in.rdbuf();
    auto r = apply_json_text(ss.str(), cfg, per_ip_set);
    if (!r) return error(r.error().code, *value + ": " + r.error().message);
  }

  if (const char* t = env("EXAI_WS_TOKEN")) cfg.token = t;
  const char* host = env("EXAI_WS_HOST");
  const char* port = env("EXAI_WS_PORT");
  if ((host && *host) || (port && *port)) {
    auto cur = split_host_port(cfg.listen);
    std::string h = host && *host ? host : (cur ? cur->first : "127.0.0.1");
    std::string p = port && *port ? port : (cur ? std::to_string(cur->second) : "3010");
    auto hp = split_host_port(h + ":" + p);
    if (!hp) return error(errc::invalid_params, "EXAI_WS_HOST/EXAI_WS_PORT: " + hp.error().message);
    cfg.listen = h + ":" + p;
  }
  if (const char* mb = env("EXAI_WS_MAX_BYTES"); mb && *mb) {
    std::uint64_t n = 0;
    std::string_view s(mb);
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || p != s.data() + s.size() || n < 1024 || n > (1ull << 30))
      return error(errc::invalid_params, "EXAI_WS_MAX_BYTES: expected a byte count between 1024 and 1073741824");
    cfg.limits.max_message_bytes = n;
  }
  if (const char* ht = env("EXAI_WS_HELLO_TIMEOUT"); ht && *ht) {
    char* end = nullptr;
    double secs = std::strtod(ht, &end);
    if (end == ht || *end != '\0' || !std::isfinite(secs) || secs <= 0 || secs > 86400)
      return error(errc::invalid_params, "EXAI_WS_HELLO_TIMEOUT: expected seconds (> 0)");
    cfg.timeouts.hello = std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(secs * 1000)));
  }
  if (const char* ll = env("LOG_LEVEL"); ll && *ll) {
    std::string l(ll);
    for (auto& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!valid_level(l)) return error(errc::invalid_params, "LOG_LEVEL: unknown level '" + std::string(ll) + "'");
    cfg.log_level = l;
  }

  for (const auto& [flag, v] : flags) {
    const std::string& value = *v;
    if (flag == "--config") continue;
    if (flag == "--listen" || flag == "--admin") {
      auto hp = split_host_port(value);
      if (!hp) return error(errc::invalid_params, flag + ": " + hp.error().message);
      (flag == "--listen" ? cfg.listen : cfg.admin) = value;
    } else if (flag == "--ready-file") {
      if (value.empty()) return error(errc::invalid_params, "--ready-file: missing file name");
      cfg.ready_file = value;
    } else if (flag == "--tools") {
      auto p = check_profiles(split_list(value), "--tools");
      if (!p) return p.error();
      cfg.tools = std::move(*p);
    } else if (flag == "--compat") {
      auto c = parse_compat(value, "--compat");
      if (!c) return c.error();
      cfg.compat_reference = *c;
    } else if (flag == "--log-level") {
      if (!valid_level(value)) return error(errc::invalid_params, "--log-level: unknown level '" + value + "'");
      cfg.log_level = value;
    } else {
      return error(errc::invalid_params, "unknown option '" + flag + "' (see --help)");
    }
  }
  // The reference daemon allows 10 connections per source IP (section 1).
  if (cfg.compat_reference && !per_ip_set) cfg.limits.max_connections_per_ip = 10;
  return out;
}

}  // namespace exai::daemon
