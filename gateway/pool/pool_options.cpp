// Parsing and validation of the pool's configuration ("upstream" section): a bad value
// stops startup with a message naming the key (house-style 17).
#include "gateway/pool/pool_options.hpp"

#include <boost/json/value.hpp>

#include <charconv>
#include <limits>

namespace exai::gateway::pool {

namespace json = boost::json;
using codecs::errc;
using codecs::error;

std::string endpoint::to_string() const { return host + ":" + std::to_string(port); }

codecs::result<endpoint> parse_ws_url(std::string_view url) {
  auto bad = [&](const char* why) {
    return error(errc::invalid_params, "upstream URL '" + std::string(url) + "': " + why);
  };
  constexpr std::string_view scheme = "ws://";
  if (url.substr(0, scheme.size()) != scheme) return bad("expected ws://HOST:PORT");
  std::string_view rest = url.substr(scheme.size());
  endpoint ep;
  const auto slash = rest.find('/');
  if (slash != std::string_view::npos) {
    ep.path = std::string(rest.substr(slash));
    rest = rest.substr(0, slash);
  }
  std::string_view host, port;
  if (!rest.empty() && rest.front() == '[') {  // [::1]:3010
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 address");
    host = rest.substr(1, close - 1);
    if (close + 1 >= rest.size() || rest[close + 1] != ':') return bad("missing port");
    port = rest.substr(close + 2);
  } else {
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) return bad("missing port");
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) return bad("missing host");
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || p != port.data() + port.size() || value == 0 || value > 65535)
    return bad("port must be 1..65535");
  ep.host = std::string(host);
  ep.port = static_cast<std::uint16_t>(value);
  return ep;
}

namespace {

error bad_key(std::string_view key, std::string_view why) {
  std::string m = "upstream.";
  m.append(key).append(": ").append(why);
  return error(errc::invalid_params, std::move(m));
}

codecs::result<std::int64_t> integer(const json::value& v, std::string_view key, std::int64_t min,
                                     std::int64_t max) {
  std::int64_t n = 0;
  if (v.is_int64()) n = v.get_int64();
  else if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    n = static_cast<std::int64_t>(v.get_uint64());
  else if (v.is_double() && v.get_double() == static_cast<double>(static_cast<std::int64_t>(v.get_double())))
    n = static_cast<std::int64_t>(v.get_double());
  else
    return bad_key(key, "must be an integer");
  if (n < min || n > max)
    return bad_key(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  return n;
}

}  // namespace

codecs::result<pool_options> parse_pool_keys(const json::object& section) {
  pool_options o;
  constexpr std::int64_t day_ms = 24LL * 3600 * 1000;

  for (const auto& kv : section) {
    const std::string_view key = kv.key();
    const json::value& v = kv.value();
    auto ms = [&](std::chrono::milliseconds& out, std::int64_t min) -> codecs::result<void> {
      auto n = integer(v, key, min, day_ms);
      if (!n) return n.error();
      out = std::chrono::milliseconds(*n);
      return {};
    };
    codecs::result<void> r;
    if (key == "connections_per_endpoint") {
      auto n = integer(v, key, 1, 256);
      if (!n) return n.error();
      o.connections_per_endpoint = static_cast<std::size_t>(*n);
    } else if (key == "connect_timeout_ms") {
      r = ms(o.connect_timeout, 1);
    } else if (key == "hello_timeout_ms") {
      r = ms(o.hello_timeout, 1);
    } else if (key == "backoff_initial_ms") {
      r = ms(o.backoff_initial, 1);
    } else if (key == "backoff_max_ms") {
      r = ms(o.backoff_max, 1);
    } else if (key == "abandon_timeout_ms") {
      r = ms(o.abandon_timeout, 1);
    } else if (key == "call_timeout_ms" || key == "tool_timeouts_ms") {
      // Budgets live in one place for every backend: the tools section.
      return bad_key(key, key == "call_timeout_ms"
                              ? "is not read here: set tools.call_timeout_ms (it applies to every backend)"
                              : "is not read here: set tools.timeouts_ms (it applies to every backend)");
    } else if (key == "hang_timeout_ms") {
      r = ms(o.hang_timeout, 100);
    } else if (key == "unreachable_wait_ms") {
      r = ms(o.unreachable_wait, 1);
    } else if (key == "idle_timeout_ms") {
      r = ms(o.idle_timeout, 1000);
    } else if (key == "queue_limit") {
      auto n = integer(v, key, 0, 10'000'000);
      if (!n) return n.error();
      o.queue_limit = static_cast<std::size_t>(*n);
    } else if (key == "max_serial_connections") {
      // The reference daemon closes the 11th connection from one address (hazard 1).
      auto n = integer(v, key, 1, 10);
      if (!n) return n.error();
      o.max_serial_connections = static_cast<std::size_t>(*n);
    } else if (key == "max_inflight_default") {
      auto n = integer(v, key, 1, 100000);
      if (!n) return n.error();
      o.max_inflight_default = static_cast<std::uint32_t>(*n);
    } else if (key == "read_limit_bytes") {
      auto n = integer(v, key, 64LL * 1024 * 1024, 1LL << 32);
      if (!n) return n.error();
      o.read_limit = static_cast<std::size_t>(*n);
    } else if (key == "max_message_bytes") {
      auto n = integer(v, key, 1024, 1LL << 32);
      if (!n) return n.error();
      o.upstream_max_message = static_cast<std::size_t>(*n);
    } else if (key == "urls") {
      const auto* arr = v.if_array();
      if (!arr) return bad_key(key, "must be an array of ws://HOST:PORT strings");
      for (const auto& u : *arr) {
        if (!u.is_string()) return bad_key(key, "must be an array of ws://HOST:PORT strings");
      }
    } else if (key == "url") {
      if (!v.is_string()) return bad_key(key, "must be a ws://HOST:PORT string");
    } else {
      return bad_key(key, "unknown key");
    }
    if (!r) return r.error();
  }
  if (o.backoff_max < o.backoff_initial) return bad_key("backoff_max_ms", "must be >= backoff_initial_ms");

  return o;
}

codecs::result<pool_options> parse_pool_options(const json::object& section,
                                                std::vector<std::string> urls, std::string token) {
  auto parsed = parse_pool_keys(section);
  if (!parsed) return parsed.error();
  pool_options o = std::move(*parsed);
  o.token = std::move(token);
  if (urls.empty()) {  // the section's own (types checked by parse_pool_keys)
    if (const auto* a = section.if_contains("urls")) {
      for (const auto& u : a->get_array()) urls.emplace_back(u.get_string());
    }
    if (const auto* u = section.if_contains("url")) urls.emplace_back(u->get_string());
  }
  if (urls.empty()) return error(errc::invalid_params, "no upstream daemon: give --upstream ws://HOST:PORT");
  for (const auto& u : urls) {
    auto ep = parse_ws_url(u);
    if (!ep) return ep.error();
    o.endpoints.push_back(std::move(*ep));
  }
  return o;
}

}  // namespace exai::gateway::pool
