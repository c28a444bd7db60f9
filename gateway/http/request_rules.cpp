// The MCP HTTP request rules (gateway/http/request_rules.hpp): each check is a pure function of the
// request head (and, late, its body), so every status is unit-tested without a socket.
#include "gateway/http/request_rules.hpp"

#include "codecs/jsonrpc.hpp"
#include "codecs/token.hpp"
#include "routes/era.hpp"
#include "gateway/ws_listener.hpp"  // origin_allowed: one Origin rule for both transports

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cctype>

namespace exai::gateway::http {
namespace {

namespace json = boost::json;

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The media type of a header element without its parameters: "application/json; q=1" -> ...
std::string_view media_type(std::string_view element) noexcept {
  return trim(element.substr(0, element.find(';')));
}

// Whether an Accept header admits `type` ("text/event-stream"): listed, `*/*`, or `text/*`.
// A q=0 parameter refuses the type.
bool accepts(std::string_view accept, std::string_view type) {
  const auto slash = type.find('/');
  while (!accept.empty()) {
    const auto comma = accept.find(',');
    const auto element = accept.substr(0, comma);
    const auto m = media_type(element);
    const bool refused = element.find("q=0") != std::string_view::npos &&
                         element.find("q=0.") == std::string_view::npos;
    if (!refused && (m == "*/*" || iequals(m, type) ||
                     (m.size() == slash + 2 && m.ends_with("/*") &&
                      iequals(m.substr(0, slash), type.substr(0, slash))))) {
      return true;
    }
    if (comma == std::string_view::npos) break;
    accept.remove_prefix(comma + 1);
  }
  return false;
}

rejection reject(unsigned status, int code, std::string_view message) {
  rejection r;
  r.status = status;
  r.body = jsonrpc_error_body(code, message);
  return r;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded value decoding; nullopt for a broken escape.
std::optional<std::string> url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The value of `name` in a query string, decoded.
std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

const json::object* as_request(const json::value& v) noexcept {
  const auto* o = v.if_object();
  if (!o || !o->contains("method")) return nullptr;
  const auto* id = o->if_contains("id");
  return id && !id->is_null() ? o : nullptr;
}

}  // namespace

std::string jsonrpc_error_body(int code, std::string_view message) {
  json::object err;
  err["code"] = code;
  err["message"] = message;
  json::object o;
  o["jsonrpc"] = "2.0";
  o["id"] = nullptr;
  o["error"] = std::move(err);
  return json::serialize(o);
}

route_result route_request(const request_head& h) {
  route_result r;
  const auto q = h.target.find('?');
  const auto path = h.target.substr(0, q);
  const auto query = q == std::string_view::npos ? std::string_view() : h.target.substr(q + 1);
  auto refuse_method = [&](std::string_view allow) {
    rejection e = reject(405, -32600, "method " + std::string(h.method) + " not allowed on " +
                                          std::string(path));
    e.allow = allow;
    r.error = std::move(e);
    return r;
  };
  if (path == "/mcp") {
    if (h.method == "POST") {
      r.ok = routed{exchange::post, {}};
    } else if (h.method == "GET") {
      r.ok = routed{exchange::get_stream, {}};
    } else if (h.method == "DELETE") {
      r.ok = routed{exchange::end_session, {}};
    } else {
      return refuse_method("GET, POST, DELETE");
    }
    return r;
  }
  if (path == "/sse") {
    if (h.method != "GET") return refuse_method("GET");
    r.ok = routed{exchange::legacy_open, {}};
    return r;
  }
  if (path == "/messages") {
    if (h.method != "POST") return refuse_method("POST");
    auto id = query_param(query, "sessionId");
    if (!id || id->empty()) {
      r.error = reject(400, -32600, "POST /messages needs a sessionId query parameter");
      return r;
    }
    r.ok = routed{exchange::legacy_post, std::move(*id)};
    return r;
  }
  r.error = reject(404, -32600, "no MCP endpoint at " + std::string(path) +
                                    " (Streamable HTTP: /mcp; HTTP+SSE: /sse)");
  return r;
}

std::optional<rejection> check_origin(const request_head& h,
                                      const std::vector<std::string>& allowed_origins) {
  if (origin_allowed(h.origin, allowed_origins)) return std::nullopt;
  return reject(403, -32600, "origin not allowed");
}

std::optional<rejection> check_token(const request_head& h, std::string_view token) {
  if (token.empty()) return std::nullopt;
  constexpr std::string_view scheme = "bearer ";
  const auto a = h.authorization;
  if (a.size() > scheme.size() && iequals(a.substr(0, scheme.size()), scheme) &&
      codecs::constant_time_equal(token, trim(a.substr(scheme.size())))) {
    return std::nullopt;
  }
  rejection r = reject(401, -32600,
                       a.empty() ? "Authorization: Bearer <token> required" : "bad token");
  r.bearer_challenge = true;
  return r;
}

std::optional<rejection> check_accept(const request_head& h, exchange kind) {
  switch (kind) {
    case exchange::post:
      if (accepts(h.accept, "application/json") && accepts(h.accept, "text/event-stream")) {
        return std::nullopt;
      }
      return reject(406, -32600,
                    "Accept must list both application/json and text/event-stream");
    case exchange::get_stream:
    case exchange::legacy_open:
      if (accepts(h.accept, "text/event-stream")) return std::nullopt;
      return reject(406, -32600, "Accept must list text/event-stream");
    case exchange::end_session:
    case exchange::legacy_post:
      return std::nullopt;  // answered with a status (and a fixed body) only
  }
  return std::nullopt;
}

std::optional<rejection> check_content_type(const request_head& h, exchange kind) {
  if (kind != exchange::post && kind != exchange::legacy_post) return std::nullopt;
  if (iequals(media_type(h.content_type), "application/json")) return std::nullopt;
  return reject(415, -32600, "Content-Type must be application/json");
}

rejection body_too_large(std::uint64_t max_body_bytes) {
  return reject(413, -32600, "the message exceeds the limit of " +
                                 std::to_string(max_body_bytes) + " bytes");
}

std::optional<rejection> check_size(const request_head& h, std::uint64_t max_body_bytes) {
  if (h.content_length && *h.content_length > max_body_bytes) return body_too_large(max_body_bytes);
  return std::nullopt;
}

rejection session_missing() {
  return reject(400, -32600, "Mcp-Session-Id header required (send initialize first)");
}

rejection session_unknown() {
  return reject(404, -32600, "session not found: unknown, expired or ended; initialize again");
}

rejection legacy_session_unknown() {
  return reject(404, -32600, "session not found: open GET /sse again");
}

std::optional<rejection> check_protocol_version(const request_head& h,
                                                std::string_view negotiated) {
  const auto v = trim(h.protocol_version);
  if (v.empty() || v == negotiated) return std::nullopt;
  return reject(400, -32600, "MCP-Protocol-Version " + std::string(v.substr(0, 64)) +
                                 " is not the session's version " + std::string(negotiated));
}

body_result parse_body(std::string_view body, std::size_t max_depth) {
  body_result r;
  json::parse_options po;
  po.max_depth = max_depth;
  boost::system::error_code ec;
  auto v = json::parse(body, ec, json::storage_ptr(), po);
  if (ec) {
    r.error = reject(400, -32700, "parse error: the body is not JSON");
    return r;
  }
  r.ok = std::move(v);
  return r;
}

bool is_initialize(const json::value& message) noexcept {
  const auto* o = as_request(message);
  if (!o) return false;
  const auto* m = o->if_contains("method");
  return m && m->is_string() && m->get_string() == "initialize";
}

bool has_request(const json::value& message) noexcept {
  if (const auto* a = message.if_array()) {
    return std::any_of(a->begin(), a->end(),
                       [](const json::value& e) { return as_request(e) != nullptr; });
  }
  return as_request(message) != nullptr;
}

bool is_modern_request(const json::value& message) noexcept {
  const auto* o = message.if_object();
  if (!o || !o->contains("id")) return false;
  const auto* m = o->if_contains("method");
  if (!m || !m->is_string()) return false;
  const auto* p = o->if_contains("params");
  static const json::object no_params;
  const auto* params = p ? p->if_object() : nullptr;
  return routes::era::is_modern(m->get_string(), params ? *params : no_params);
}

std::optional<rejection> check_era_headers(const request_head& h, const json::value& message) {
  if (!is_modern_request(message)) return std::nullopt;
  const auto& o = message.get_object();
  const std::string_view method = o.at("method").get_string();
  static const json::object no_params;
  const auto* p = o.if_contains("params");
  const auto& params = p && p->is_object() ? p->get_object() : no_params;
  auto refuse = [&](const codecs::error& e) {
    rejection r;
    r.status = routes::era::http_status_for(e);
    r.body = json::serialize(codecs::jsonrpc::encode_error(codecs::client_id{o.at("id")}, e));
    return r;
  };
  // The headers are compared with what `_meta` says before that version is judged: a header that
  // disagrees with the body is -32020 whatever the version (modern rule 13). Without a version
  // string in `_meta` there is nothing to compare: validate() answers -32602.
  const auto* meta = params.if_contains("_meta");
  const auto* mo = meta ? meta->if_object() : nullptr;
  const auto* v = mo ? mo->if_contains(routes::era::protocol_version_key) : nullptr;
  if (v && v->is_string()) {
    routes::era::http_headers headers;
    if (h.has_protocol_version) headers.protocol_version = h.protocol_version;
    if (h.has_mcp_method) headers.method = h.mcp_method;
    if (h.has_mcp_name) headers.name = h.mcp_name;
    auto checked = routes::era::check_http_headers(headers, method, params, v->get_string());
    if (!checked) return refuse(checked.error());
  }
  auto valid = routes::era::validate(params);
  if (!valid) return refuse(valid.error());
  return std::nullopt;
}

unsigned modern_reply_status(std::string_view reply_text) {
  boost::system::error_code ec;
  auto v = json::parse(reply_text, ec);
  const auto* o = ec ? nullptr : v.if_object();
  const auto* err = o ? o->if_contains("error") : nullptr;
  const auto* eo = err ? err->if_object() : nullptr;
  const auto* code = eo ? eo->if_contains("code") : nullptr;
  if (!code || !code->is_int64()) return 200;
  return routes::era::http_status_for_code(code->get_int64());
}

}  // namespace exai::gateway::http
