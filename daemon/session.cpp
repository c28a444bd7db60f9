// The per-connection op session as a pure state machine: handshake decisions, extension grants,
// message classification and in-flight ids. Boost.JSON and the op codec only.
#include "daemon/session.hpp"

#include "codecs/parse.hpp"
#include "codecs/token.hpp"
#include "daemon/tool_host.hpp"

namespace exai::daemon {

namespace json = boost::json;
namespace op = codecs::op;
using codecs::errc;

namespace {

// An op message of type Msg (call_tool_res or error_msg) carrying only the error.
template <class Msg>
json::object error_reply(const json::value& request_id, errc code, std::string message) {
  Msg m;
  m.error = op::wire_error{std::string(codecs::op_code(code)), std::move(message), std::nullopt};
  auto o = op::encode(m);
  o["request_id"] = request_id;
  return o;
}

}  // namespace

json::object call_error(const json::value& request_id, errc code, std::string message) {
  return error_reply<op::call_tool_res>(request_id, code, std::move(message));
}

json::object op_error(const json::value& request_id, errc code, std::string message) {
  return error_reply<op::error_msg>(request_id, code, std::move(message));
}

session::session(session_settings s, std::string generated_id)
    : settings_(std::move(s)), id_(std::move(generated_id)) {}

namespace {

handshake_step refuse(std::string error, close_code code, std::string reason) {
  op::hello_ack ack;
  ack.ok = false;
  ack.error = std::move(error);
  return handshake_step{op::encode(ack), code, std::move(reason)};
}

const json::string* raw_op(const json::value& v) {
  const auto* o = v.if_object();
  if (!o) return nullptr;
  const auto* op = o->if_contains("op");
  return op ? op->if_string() : nullptr;
}

}  // namespace

handshake_step session::on_first_message(std::string_view text) {
  if (phase_ != phase::awaiting_hello) return {};
  auto parsed = codecs::parse_json(text, {settings_.max_message_bytes, 64});
  if (!parsed) {
    phase_ = phase::closed;
    return handshake_step{std::nullopt, close_code::not_json, "first message is not JSON"};
  }
  const auto* name = raw_op(*parsed);
  if (!name || *name != "hello") {
    phase_ = phase::closed;
    return refuse("missing_hello", close_code::missing_hello, "first message must be hello");
  }
  auto m = op::decode_client(*parsed);
  if (!m || !std::holds_alternative<op::hello>(*m)) {
    phase_ = phase::closed;
    return refuse("invalid_hello", close_code::missing_hello, "malformed hello");
  }
  auto& h = std::get<op::hello>(*m);
  // The token is checked before anything else so an unauthenticated peer learns nothing more.
  if (!settings_.token.empty() && !codecs::constant_time_equal(settings_.token, h.token)) {
    phase_ = phase::closed;
    return refuse("unauthorized", close_code::unauthorized, "unauthorized");
  }
  // The reference daemon drops the socket silently here; we say why (issue 3).
  if (h.session_id && !op::valid_session_id(*h.session_id)) {
    phase_ = phase::closed;
    return refuse("invalid_session_id", close_code::missing_hello, "invalid session_id");
  }
  if (h.session_id) id_ = *h.session_id;  // a label only: no state is shared between connections

  op::hello_ack ack;
  ack.ok = true;
  ack.session_id = id_;
  if (!settings_.compat_reference) {
    // Section 4: grant what was asked. Without `capabilities` in the hello everything stays off,
    // but the ack still says so, with our identity.
    if (h.caps) {
      granted_.multiplex = h.caps->multiplex;
      granted_.cancel = h.caps->cancel;
      granted_.progress = h.caps->progress;
    }
    op::capabilities shown = granted_;
    if (granted_.multiplex) shown.max_inflight = settings_.max_inflight;
    // What we read, so a gateway fails a larger call alone instead of losing the connection.
    shown.max_message_bytes = settings_.max_message_bytes;
    ack.caps = shown;
    json::object server;
    server["name"] = settings_.server_name;
    server["version"] = daemon_version();
    ack.server = std::move(server);
  }
  phase_ = phase::open;
  return handshake_step{op::encode(ack), std::nullopt, {}};
}

handshake_step session::on_hello_timeout() {
  if (phase_ != phase::awaiting_hello) return {};
  phase_ = phase::closed;
  return handshake_step{std::nullopt, close_code::hello_timeout, "no hello in time"};
}

request session::classify(std::string_view text) const {
  auto parsed = codecs::parse_json(text, {settings_.max_message_bytes, 64});
  if (!parsed) {
    // No request_id can be read from text that is not JSON.
    return req::reply{op_error(nullptr, parsed.error().code, "malformed message: " + parsed.error().message)};
  }
  const json::value& v = *parsed;
  json::value rid = nullptr;  // echoed verbatim (even a non-string) so the client can correlate
  if (const auto* o = v.if_object())
    if (const auto* r = o->if_contains("request_id")) rid = *r;
  const auto* name = raw_op(v);
  const bool is_call = name && (*name == "call_tool" || *name == "tool_call");

  auto m = op::decode_client(v);
  if (!m) {
    const auto e = m.error();
    return req::reply{is_call ? call_error(rid, e.code, e.message) : op_error(rid, e.code, e.message)};
  }
  struct visitor {
    const json::value& rid;
    request operator()(op::hello&) const {
      return req::reply{op_error(rid, errc::invalid_request, "hello was already accepted on this connection")};
    }
    request operator()(op::list_tools& l) const { return req::list_tools{std::move(l.request_id)}; }
    request operator()(op::ping& p) const { return req::ping{std::move(p.request_id)}; }
    request operator()(op::call_tool& c) const {
      // Without an id a reply cannot be matched or cancelled (hazard 2: the reference daemon's
      // "unknown" id poisons later calls): refused, and the connection carries on.
      if (!c.request_id)
        return req::reply{call_error(nullptr, errc::invalid_request, "call_tool needs a string request_id")};
      return req::call{std::move(*c.request_id), std::move(c.name), std::move(c.arguments)};
    }
    request operator()(op::cancel& c) const {
      if (!c.request_id)
        return req::reply{op_error(nullptr, errc::invalid_request, "cancel needs the request_id of the call")};
      return req::cancel{std::move(*c.request_id)};
    }
  };
  return std::visit(visitor{rid}, *m);
}

session::admission session::admit(const std::string& request_id) {
  if (shutting_down_) return admission::shutting_down;
  if (inflight_.count(request_id)) return admission::duplicate;
  if (inflight_.size() >= settings_.max_inflight) return admission::over_capacity;
  inflight_.insert(request_id);
  return admission::ok;
}

void session::finished(const std::string& request_id) { inflight_.erase(request_id); }

}  // namespace exai::daemon
