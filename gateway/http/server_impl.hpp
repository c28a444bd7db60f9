// The MCP HTTP exchanges behind gateway/http/server.hpp, generic over the stream so component tests
// run them on Beast's test stream: included by server.cpp (the one production instantiation, on
// beast::tcp_stream) and by the component test. Rules come from request_rules.hpp; each POST reply
// and each SSE stream is an outbound of the session (outbounds.hpp); this code only reads
// requests, hands them to sessions, waits and writes responses.
#pragma once

#include "gateway/http/connection.hpp"

#include "codecs/model.hpp"
#include "gateway/http/outbounds.hpp"
#include "gateway/http/request_rules.hpp"
#include "observability/log.hpp"
#include "observability/metric_names.hpp"
#include "observability/metrics.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <deque>
#include <functional>
#include <string_view>
#include <tuple>
#include <unordered_map>

namespace exai::gateway::http {
namespace detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using steady = std::chrono::steady_clock;

inline constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
inline constexpr std::string_view resume_id = "exai-gateway-resume";

template <class S>
inline std::string_view sv(const S& s) {
  return std::string_view(s.data(), s.size());
}

// Set when the client closes a connection whose response is still pending (a readable socket
// with nothing to read); data from a pipelined request stops the watch without an alarm.
struct peer_watch {
  bool gone = false;
  // Null once the exchange stopped watching (set before stop_watch): a completion that was
  // already queued then touches nothing, neither the wakeup nor the socket.
  wakeup* to_wake = nullptr;
};

// What the exchanges need of a stream besides reading and writing; specialised per stream type.
//   expires_after(s, d) / expires_never(s): the timeout of the next operations
//   watch_peer(s, w): sets w->gone and wakes w->to_wake when the client closes the connection
//   stop_watch(s): ends the watch (before the exchange's locals go)
//   close(s): ends the connection
template <class Stream>
struct stream_ops;

template <>
struct stream_ops<beast::tcp_stream> {
  static void expires_after(beast::tcp_stream& s, std::chrono::milliseconds d) { s.expires_after(d); }
  static void expires_never(beast::tcp_stream& s) { s.expires_never(); }
  static void watch_peer(beast::tcp_stream& s, const std::shared_ptr<peer_watch>& w) {
    auto& socket = s.socket();
    socket.async_wait(tcp::socket::wait_read, [&socket, w](const error_code& ec) {
      // Cancelled, or completed after the exchange stopped watching: the socket may be gone.
      if (ec || !w->to_wake) return;
      error_code aec;
      if (socket.available(aec) == 0 || aec) {
        w->gone = true;
        if (w->to_wake) w->to_wake->notify();
      }
    });
  }
  static void stop_watch(beast::tcp_stream& s) {
    error_code ignored;
    s.socket().cancel(ignored);
  }
  static void close(beast::tcp_stream& s) {
    error_code ignored;
    s.socket().shutdown(tcp::socket::shutdown_both, ignored);
    s.close();
  }
};

inline obs::counter& requests_by_status(unsigned status) {
  static std::unordered_map<unsigned, obs::counter*> cache;
  auto& c = cache[status];
  if (!c) {
    c = &obs::metrics().get_counter(obs::names::http_requests_total.name,
                                    obs::names::http_requests_total.help,
                                    {{std::string(obs::names::label_status), std::to_string(status)}});
  }
  return *c;
}

inline obs::gauge& sse_streams() {
  static auto& g = obs::metrics().get_gauge(obs::names::http_sse_streams.name,
                                            obs::names::http_sse_streams.help);
  return g;
}

inline obs::gauge& sessions_by_era(bool legacy) {
  auto get = [](std::string_view era) -> obs::gauge& {
    return obs::metrics().get_gauge(obs::names::http_sessions.name,
                                    obs::names::http_sessions.help,
                                    {{std::string(obs::names::label_era), std::string(era)}});
  };
  static auto& streamable = get("streamable");
  static auto& sse = get("sse");
  return legacy ? sse : streamable;
}

// Counts an open SSE response for its lifetime.
struct stream_count {
  explicit stream_count(std::size_t& n) : n_(n) {
    ++n_;
    sse_streams().add(1);
  }
  ~stream_count() {
    --n_;
    sse_streams().add(-1);
  }
  std::size_t& n_;
};

// Appends `v` in the given base (no locale, no format string).
inline void append_number(std::string& out, std::size_t v, int base = 10) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, v, base).ptr;
  out.append(digits, end);
}

inline std::string chunk(std::string_view data) {
  std::string out;
  out.reserve(data.size() + 24);
  append_number(out, data.size(), 16);
  out.append("\r\n");
  out.append(data);
  out.append("\r\n");
  return out;
}

inline constexpr std::string_view last_chunk = "0\r\n\r\n";

}  // namespace detail

using namespace detail;

// One HTTP session: its gateway session, what it negotiated, and its server-to-client stream.
struct http_session {
  std::shared_ptr<session> s;
  std::shared_ptr<stream_outbound> stream;
  std::string token;             // the sealed Mcp-Session-Id (or /messages sessionId)
  std::string protocol_version;  // set once initialize is answered (or the session resumed)
  bool legacy = false;
  bool ended = false;
  std::size_t posts = 0;         // POSTs waiting for their replies
  steady::time_point last_used = steady::now();
};

struct server::impl : std::enable_shared_from_this<server::impl> {
  impl(asio::any_io_executor e, server_options o, session_sealer s, session_hooks h)
      : ex(e), opts(std::move(o)), sealer(std::move(s)), hooks(std::move(h)), sweeper(e) {}

  asio::any_io_executor ex;
  server_options opts;
  session_sealer sealer;
  session_hooks hooks;
  // Looked up by the request's header value as it is, without copying it into a key string.
  struct token_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view t) const noexcept {
      return std::hash<std::string_view>{}(t);
    }
  };
  template <class V>
  using token_map = std::unordered_map<std::string, V, token_hash, std::equal_to<>>;
  token_map<std::shared_ptr<http_session>> table;  // token -> session
  token_map<wall_clock::time_point> ended;         // token -> its expiry
  asio::steady_timer sweeper;
  bool sweeping = false;
  bool stopping = false;
  std::size_t streams = 0;
  std::size_t connections = 0;

  // ---- sessions ------------------------------------------------------------------------------

  std::shared_ptr<http_session> open_session(bool legacy) {
    auto h = std::make_shared<http_session>();
    h->s = hooks.open();
    h->legacy = legacy;
    h->stream = std::make_shared<stream_outbound>(ex, legacy, opts.replay_events, opts.replay_bytes);
    h->s->set_notifications(h->stream);
    sessions_by_era(legacy).add(1);
    ensure_sweeper();
    return h;
  }

  // Ends the session: its calls are cancelled, its streams closed, its id refused from now on.
  void end_session(const std::shared_ptr<http_session>& h) {
    if (h->ended) return;
    h->ended = true;
    sessions_by_era(h->legacy).add(-1);
    if (!h->token.empty()) {
      if (auto it = table.find(h->token); it != table.end() && it->second == h) table.erase(it);
      if (auto opened = sealer.open(h->token, wall_clock::now())) {
        ended[h->token] = opened.claims->expires;
      }
    }
    hooks.end(h->s);
  }

  std::string seal_for(const std::string& version, const json::object& caps, bool legacy) {
    session_claims c;
    c.protocol_version = version;
    c.client_capabilities = caps;
    c.expires = wall_clock::now() +
                std::chrono::duration_cast<wall_clock::duration>(opts.session_lifetime);
    c.nonce = random_nonce();
    c.legacy_sse = legacy;
    return sealer.seal(c);
  }

  // The session a Streamable HTTP id names: held here, or sealed by any process sharing the
  // secret (then re-created from what the id carries). nullptr: 404.
  asio::awaitable<std::shared_ptr<http_session>> find(std::string_view token) {
    if (auto it = table.find(token); it != table.end()) {
      if (it->second->legacy) co_return nullptr;
      it->second->last_used = steady::now();
      co_return it->second;
    }
    if (ended.contains(token)) co_return nullptr;
    auto opened = sealer.open(token, wall_clock::now());
    if (!opened || opened.claims->legacy_sse) {
      EXAI_LOG(debug, "http", "session id refused",
               {"reason", !opened ? (opened.error == seal_error::expired ? "expired"
                                     : opened.error == seal_error::bad_signature ? "signature"
                                                                                 : "malformed")
                                  : "legacy"});
      co_return nullptr;
    }
    // Re-create the session: initialize with what it negotiated, the reply discarded.
    auto h = open_session(false);
    h->token = std::string(token);
    h->protocol_version = opened.claims->protocol_version;
    table[h->token] = h;
    json::object params;
    params["protocolVersion"] = opened.claims->protocol_version;
    params["capabilities"] = opened.claims->client_capabilities;
    params["clientInfo"] = json::object{{"name", "resumed-session"}, {"version", "0"}};
    json::object init{{"jsonrpc", "2.0"}, {"id", resume_id}, {"method", "initialize"},
                      {"params", std::move(params)}};
    auto discard = std::make_shared<post_outbound>(ex, "http");
    co_await deliver(h, json::serialize(init), discard);
    co_await deliver(h, R"({"jsonrpc":"2.0","method":"notifications/initialized"})", discard);
    discard->finish();
    EXAI_LOG(info, "http", "session resumed from its sealed id",
             {"protocol_version", h->protocol_version});
    co_return h;
  }

  // Hands one POSTed frame to the session with the outbound its replies go to; false when the
  // session takes no more (closing).
  static asio::awaitable<bool> deliver(std::shared_ptr<http_session> h, std::string frame,
                                       std::shared_ptr<outbound> replies) {
    if (!co_await h->s->async_wait_room(*replies)) co_return false;
    if (auto rest = h->s->deliver(frame, replies)) co_await h->s->async_finish(std::move(*rest));
    co_return true;
  }

  void ensure_sweeper() {
    if (sweeping) return;
    sweeping = true;
    asio::co_spawn(ex, sweep(shared_from_this()), asio::detached);
  }

  static asio::awaitable<void> sweep(std::shared_ptr<impl> self) {
    const auto period = std::clamp(self->opts.session_idle / 4, std::chrono::milliseconds(10),
                                   std::chrono::milliseconds(30'000));
    while (!self->stopping) {
      self->sweeper.expires_after(period);
      auto [ec] = co_await self->sweeper.async_wait(tuple_awaitable);
      if (ec || self->stopping) break;
      const auto now = steady::now();
      std::vector<std::shared_ptr<http_session>> idle;
      for (auto& [t, h] : self->table) {
        if (!h->legacy && h->posts == 0 && !h->stream->has_writer() &&
            now - h->last_used >= self->opts.session_idle) {
          idle.push_back(h);
        }
      }
      for (auto& h : idle) {
        EXAI_LOG(debug, "http", "idle session expired");
        self->end_session(h);
      }
      const auto wall = wall_clock::now();
      std::erase_if(self->ended, [&](const auto& e) { return e.second <= wall; });
    }
    self->sweeping = false;
  }

  static rejection too_many_sessions() {
    rejection r;
    r.status = 503;
    r.body = jsonrpc_error_body(-32603, "too many open sessions; try again later");
    return r;
  }

  // ---- responses -----------------------------------------------------------------------------

  template <class Stream>
  static asio::awaitable<bool> respond(Stream& stream, unsigned status,
                                       std::string_view content_type, std::string body,
                                       bool keep, const std::vector<std::pair<bhttp::field, std::string>>& extra = {}) {
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), 11};
    res.set(bhttp::field::server, "exai-gateway");
    if (!body.empty()) res.set(bhttp::field::content_type, content_type);
    for (const auto& [f, v] : extra) res.set(f, v);
    res.keep_alive(keep);
    res.body() = std::move(body);
    // RFC 9110 §8.6: no Content-Length on a 204.
    if (status != 204) res.prepare_payload();
    requests_by_status(status).inc();
    stream_ops<Stream>::expires_after(stream, std::chrono::milliseconds(30'000));
    auto [ec, n] = co_await bhttp::async_write(stream, res, tuple_awaitable);
    co_return !ec && keep;
  }

  template <class Stream>
  static asio::awaitable<bool> refuse(Stream& stream, const rejection& r, bool keep) {
    std::vector<std::pair<bhttp::field, std::string>> extra;
    if (!r.allow.empty()) extra.emplace_back(bhttp::field::allow, r.allow);
    if (r.bearer_challenge) extra.emplace_back(bhttp::field::www_authenticate, "Bearer");
    co_return co_await respond(stream, r.status, r.content_type, r.body, keep, extra);
  }

  template <class Stream>
  static asio::awaitable<bool> write_raw(Stream& stream, std::string_view data) {
    stream_ops<Stream>::expires_after(stream, std::chrono::milliseconds(30'000));
    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(data.data(), data.size()),
                                              tuple_awaitable);
    co_return !ec;
  }

  template <class Stream>
  static asio::awaitable<bool> write_sse_head(Stream& stream) {
    static constexpr std::string_view head =
        "HTTP/1.1 200 OK\r\nServer: exai-gateway\r\nContent-Type: text/event-stream\r\n"
        "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n";
    requests_by_status(200).inc();
    co_return co_await write_raw(stream, head);
  }

  // The JSON reply, its head written by hand: the same bytes Beast would send for `status` with
  // Server, Content-Type, Mcp-Session-Id (when given) and Content-Length, in that order, without
  // building a field list per reply. Head and body go out in one gathered write.
  template <class Stream>
  static asio::awaitable<bool> respond_json(Stream& stream, std::string text,
                                            const std::string& session_id, unsigned status = 200) {
    std::string head;
    head.reserve(128 + session_id.size());
    const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
    head.append("HTTP/1.1 ");
    append_number(head, status);
    head.push_back(' ');
    head.append(reason.data(), reason.size());
    head.append("\r\nServer: exai-gateway\r\nContent-Type: application/json\r\n");
    if (!session_id.empty()) {
      head.append("Mcp-Session-Id: ");
      head.append(session_id);
      head.append("\r\n");
    }
    head.append("Content-Length: ");
    append_number(head, text.size());
    head.append("\r\n\r\n");
    requests_by_status(status).inc();
    stream_ops<Stream>::expires_after(stream, std::chrono::milliseconds(30'000));
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(text)};
    auto [ec, written] = co_await asio::async_write(stream, buffers, tuple_awaitable);
    co_return !ec;
  }

  // ---- exchanges -----------------------------------------------------------------------------

  // The POSTed message(s), checked: JSON-RPC 2.0 only, and what the reply must wait for.
  struct post_body {
    std::optional<json::value> message;
    std::optional<rejection> error;
    std::size_t requests = 0;
    bool wants_progress = false;
    json::object init_capabilities;
  };

  static post_body read_post(std::string_view body) {
    post_body out;
    auto parsed = parse_body(body);
    if (parsed.error) {
      out.error = std::move(parsed.error);
      return out;
    }
    auto invalid = [&](std::string_view why) {
      rejection r;
      r.status = 400;
      r.body = jsonrpc_error_body(-32600, why);
      out.error = std::move(r);
    };
    auto check_one = [&](const json::value& v) -> bool {
      const auto* o = v.if_object();
      const auto* version = o ? o->if_contains("jsonrpc") : nullptr;
      if (!version || !version->is_string() || version->get_string() != "2.0") {
        invalid("not a JSON-RPC 2.0 message (this endpoint takes MCP only)");
        return false;
      }
      const auto* id = o->if_contains("id");
      const auto* method = o->if_contains("method");
      if (method) {
        if (!method->is_string()) {
          invalid("method must be a string");
          return false;
        }
        if (id && !id->is_null()) {
          if (!id->is_string() && !id->is_int64() && !id->is_uint64()) {
            invalid("id must be a string or an integer");
            return false;
          }
          ++out.requests;
          const auto* p = o->if_contains("params");
          const auto* po = p ? p->if_object() : nullptr;
          const auto* meta = po ? po->if_contains("_meta") : nullptr;
          const auto* mo = meta ? meta->if_object() : nullptr;
          const auto* tok = mo ? mo->if_contains("progressToken") : nullptr;
          if (tok && (tok->is_string() || tok->is_int64() || tok->is_uint64())) {
            out.wants_progress = true;
          }
          if (method->get_string() == "initialize" && po) {
            if (const auto* c = po->if_contains("capabilities"); c && c->is_object()) {
              out.init_capabilities = c->get_object();
            }
          }
        }
        return true;
      }
      if (id && (o->contains("result") || o->contains("error"))) return true;  // a response
      invalid("neither a request, a notification nor a response");
      return false;
    };
    if (const auto* a = parsed.ok->if_array()) {
      if (a->empty()) {
        invalid("empty batch");
        return out;
      }
      for (const auto& e : *a) {
        if (!check_one(e)) return out;
      }
    } else if (!check_one(*parsed.ok)) {
      return out;
    }
    out.message = std::move(parsed.ok);
    return out;
  }

  template <class Stream>
  static asio::awaitable<bool> handle_post(std::shared_ptr<impl> self, Stream& stream,
                                           const request_head& h, std::string body_text) {
    auto body = read_post(body_text);
    if (body.error) co_return co_await refuse(stream, *body.error, true);
    // A 2026-07-28 request is stateless: no Mcp-Session-Id, a session for this exchange only
    // (an initialize carrying the modern fields is such a request, answered -32601).
    const bool modern = is_modern_request(*body.message);
    const bool init = !modern && is_initialize(*body.message);
    std::shared_ptr<http_session> hs;
    if (modern) {
      if (auto r = check_era_headers(h, *body.message)) co_return co_await refuse(stream, *r, true);
      hs = self->open_session(false);
    } else if (init && h.session_id.empty()) {
      if (self->table.size() >= self->opts.max_sessions) {
        co_return co_await refuse(stream, too_many_sessions(), true);
      }
      hs = self->open_session(false);
    } else {
      if (h.session_id.empty()) co_return co_await refuse(stream, session_missing(), true);
      hs = co_await self->find(h.session_id);
      if (!hs) co_return co_await refuse(stream, session_unknown(), true);
      if (auto r = check_protocol_version(h, hs->protocol_version)) {
        co_return co_await refuse(stream, *r, true);
      }
    }
    if (auto r = check_era_headers(h, *body.message)) co_return co_await refuse(stream, *r, true);
    if (body.message->is_array() && hs->protocol_version != "2025-03-26") {
      rejection r;
      r.body = jsonrpc_error_body(-32600,
                                  "JSON-RPC batches are accepted only on sessions initialized "
                                  "with protocol version 2025-03-26");
      co_return co_await refuse(stream, r, true);
    }
    auto out = std::make_shared<post_outbound>(self->ex, "http");
    ++hs->posts;
    struct post_done {
      http_session& h;
      ~post_done() {
        --h.posts;
        h.last_used = steady::now();
      }
    } done_guard{*hs};
    if (!co_await deliver(hs, std::move(body_text), out)) {
      out->finish();
      co_return co_await refuse(stream, session_unknown(), false);
    }
    if (body.requests == 0) {
      out->finish();  // notifications and responses: nothing comes back
      co_return co_await respond(stream, 202, "", "", true);
    }

    auto watch = std::make_shared<peer_watch>();
    watch->to_wake = &out->wake;
    stream_ops<Stream>::watch_peer(stream, watch);
    // initialize is answered at once and carries the session id in its headers: never SSE.
    bool sse = body.wants_progress && !init;
    bool head_sent = false;
    std::optional<stream_count> counted;
    const auto switch_at = init ? steady::time_point::max() : steady::now() + self->opts.sse_after;
    bool keep = true;
    for (;;) {
      if (!sse && !out->empty() && !out->front_is_response()) sse = true;  // progress came first
      if (sse && !head_sent) {
        if (!co_await write_sse_head(stream)) {
          keep = false;
          break;
        }
        head_sent = true;
        counted.emplace(self->streams);
      }
      bool answered = false;
      while (!out->empty() && !answered && keep) {
        const bool last = out->front_is_response();
        std::string text = out->take();
        const std::size_t size = text.size();
        if (!sse) {
          // The one JSON reply.
          std::string sid;
          if (init) {
            if (self->finish_initialize(hs, text, body.init_capabilities)) sid = hs->token;
          }
          const unsigned status = modern ? modern_reply_status(text) : 200;
          keep = co_await respond_json(stream, std::move(text), sid, status);
          out->written(size, keep);
          answered = true;
          break;
        }
        const std::string event = chunk(sse_message(text));
        keep = co_await write_raw(stream, event);
        out->written(size, keep);
        answered = last;
      }
      if (answered || !keep) {
        if (sse && keep) keep = co_await write_raw(stream, last_chunk);
        break;
      }
      if (out->closing()) {
        // The session ended (DELETE, expiry, shutdown) without answering.
        if (head_sent) {
          co_await write_raw(stream, last_chunk);
        } else {
          co_await refuse(stream, session_unknown(), false);
        }
        keep = false;
        break;
      }
      if (watch->gone) {
        // A dropped response stream cancels its calls, as a WebSocket disconnect does.
        hs->s->stream_lost(*out, loss_policy::cancel);
        EXAI_LOG(debug, "http", "POST response stream closed by the client: request cancelled");
        keep = false;
        break;
      }
      const auto until = !sse ? switch_at : steady::now() + self->opts.keepalive;
      if (!co_await out->wake.wait(until)) {
        if (!sse) {
          sse = true;  // still running: stream the reply, with keep-alive comments meanwhile
        } else {
          const std::string ping = chunk(sse_keepalive());
          if (!co_await write_raw(stream, ping)) keep = false;
        }
      }
      if (!keep) {
        hs->s->stream_lost(*out, loss_policy::cancel);
        break;
      }
    }
    watch->to_wake = nullptr;
    stream_ops<Stream>::stop_watch(stream);
    out->finish();
    if (modern) self->end_session(hs);  // its one request answered (or abandoned)
    co_return keep;
  }

  // The initialize reply: seal what was negotiated and register the session. False when it was
  // an error (the session is then ended).
  bool finish_initialize(const std::shared_ptr<http_session>& hs, const std::string& reply,
                         const json::object& caps) {
    if (!hs->token.empty()) return true;  // initialize again on an existing session
    error_code ec;
    auto v = json::parse(reply, ec);
    const auto* o = ec ? nullptr : v.if_object();
    const auto* r = o ? o->if_contains("result") : nullptr;
    const auto* ro = r ? r->if_object() : nullptr;
    const auto* pv = ro ? ro->if_contains("protocolVersion") : nullptr;
    if (!pv || !pv->is_string()) {
      end_session(hs);
      return false;
    }
    hs->protocol_version = std::string(pv->get_string());
    hs->token = seal_for(hs->protocol_version, caps, false);
    table[hs->token] = hs;
    return true;
  }

  // A server-to-client stream: GET /mcp or GET /sse. Returns when the client leaves, another GET
  // takes the stream over, or the session ends; the connection is not reused.
  template <class Stream>
  static asio::awaitable<void> run_stream(std::shared_ptr<impl> self, Stream& stream,
                                          std::shared_ptr<http_session> hs,
                                          std::string first_events) {
    auto w = std::make_shared<stream_outbound::writer>(self->ex);
    hs->stream->attach(w);
    stream_count counted(self->streams);
    auto watch = std::make_shared<peer_watch>();
    watch->to_wake = &w->wake;
    stream_ops<Stream>::watch_peer(stream, watch);
    bool ok = co_await write_sse_head(stream);
    const std::string first = first_events.empty() ? std::string() : chunk(first_events);
    if (ok && !first.empty()) ok = co_await write_raw(stream, first);
    while (ok) {
      std::string batch;
      while (!w->frames.empty()) {
        batch += w->frames.front();
        w->frames.pop_front();
      }
      if (!batch.empty()) {
        const std::string framed = chunk(batch);
        ok = co_await write_raw(stream, framed);
        if (!ok) break;
      }
      if (hs->stream->ended() || hs->ended || w->replaced) {
        co_await write_raw(stream, last_chunk);
        break;
      }
      if (watch->gone) break;
      if (!co_await w->wake.wait(steady::now() + self->opts.keepalive)) {
        const std::string ping = chunk(sse_keepalive());
        ok = co_await write_raw(stream, ping);
      }
    }
    hs->stream->detach(w.get());
    hs->last_used = steady::now();
    watch->to_wake = nullptr;
    stream_ops<Stream>::stop_watch(stream);
    // The 2024-11-05 session lives as long as its stream.
    if (hs->legacy) self->end_session(hs);
  }

  template <class Stream>
  static asio::awaitable<bool> handle_get(std::shared_ptr<impl> self, Stream& stream,
                                          const request_head& h, std::string last_event_id) {
    if (h.session_id.empty()) co_return co_await refuse(stream, session_missing(), true);
    auto hs = co_await self->find(h.session_id);
    if (!hs) co_return co_await refuse(stream, session_unknown(), true);
    if (auto r = check_protocol_version(h, hs->protocol_version)) {
      co_return co_await refuse(stream, *r, true);
    }
    std::string replay;
    if (!last_event_id.empty()) {
      if (auto events = hs->stream->replay_after(last_event_id)) {
        for (auto& e : *events) replay += e;
      }
    }
    co_await run_stream(self, stream, hs, std::move(replay));
    co_return false;
  }

  template <class Stream>
  static asio::awaitable<bool> handle_delete(std::shared_ptr<impl> self, Stream& stream,
                                             const request_head& h) {
    if (h.session_id.empty()) co_return co_await refuse(stream, session_missing(), true);
    auto hs = co_await self->find(h.session_id);
    if (!hs) co_return co_await refuse(stream, session_unknown(), true);
    self->end_session(hs);
    co_return co_await respond(stream, 204, "", "", true);
  }

  template <class Stream>
  static asio::awaitable<bool> handle_legacy_open(std::shared_ptr<impl> self, Stream& stream) {
    if (self->table.size() >= self->opts.max_sessions) {
      co_return co_await refuse(stream, too_many_sessions(), false);
    }
    auto hs = self->open_session(true);
    hs->protocol_version = "2024-11-05";
    hs->token = self->seal_for(hs->protocol_version, {}, true);
    self->table[hs->token] = hs;
    std::string endpoint = sse_endpoint("/messages?sessionId=" + hs->token);
    co_await run_stream(self, stream, hs, std::move(endpoint));
    co_return false;
  }

  template <class Stream>
  static asio::awaitable<bool> handle_legacy_post(std::shared_ptr<impl> self, Stream& stream,
                                                  const std::string& session, std::string body) {
    auto it = self->table.find(session);
    if (it == self->table.end() || !it->second->legacy || it->second->ended) {
      co_return co_await refuse(stream, legacy_session_unknown(), true);
    }
    auto checked = read_post(body);
    if (checked.error) co_return co_await refuse(stream, *checked.error, true);
    auto hs = it->second;
    // Replies go out on the session's /sse stream.
    if (!co_await deliver(hs, std::move(body), hs->stream)) {
      co_return co_await refuse(stream, legacy_session_unknown(), true);
    }
    co_return co_await respond(stream, 202, "text/plain", "Accepted", true);
  }

  // One request, its head read. Returns whether the connection may carry another.
  template <class Stream>
  static asio::awaitable<bool> handle(std::shared_ptr<impl> self, Stream& stream,
                                      beast::flat_buffer& buffer, request_parser& parser) {
    auto& req = parser.get();
    request_head h;
    h.method = sv(req.method_string());
    h.target = sv(req.target());
    h.accept = sv(req[bhttp::field::accept]);
    h.content_type = sv(req[bhttp::field::content_type]);
    h.origin = sv(req[bhttp::field::origin]);
    h.authorization = sv(req[bhttp::field::authorization]);
    h.session_id = sv(req["Mcp-Session-Id"]);
    h.protocol_version = sv(req["MCP-Protocol-Version"]);
    h.mcp_method = sv(req["Mcp-Method"]);
    h.mcp_name = sv(req["Mcp-Name"]);
    h.has_protocol_version = req.find("MCP-Protocol-Version") != req.end();
    h.has_mcp_method = req.find("Mcp-Method") != req.end();
    h.has_mcp_name = req.find("Mcp-Name") != req.end();
    if (auto cl = parser.content_length()) h.content_length = *cl;
    const bool has_body = !parser.is_done();

    // A refusal before the body is read closes the connection: the unread body would be
    // taken for the next request.
    const bool keep_unread = !has_body;
    if (self->stopping) {
      rejection r;
      r.status = 503;
      r.body = jsonrpc_error_body(-32603, "the gateway is shutting down");
      co_await refuse(stream, r, false);
      co_return false;
    }
    auto routed_to = route_request(h);
    if (routed_to.error) co_return co_await refuse(stream, *routed_to.error, keep_unread);
    const auto kind = routed_to.ok->kind;
    if (auto r = check_origin(h, self->opts.allowed_origins)) {
      EXAI_LOG(info, "http", "request refused: origin not allowed", {"origin", h.origin});
      co_return co_await refuse(stream, *r, keep_unread);
    }
    if (auto r = check_token(h, self->opts.token)) co_return co_await refuse(stream, *r, keep_unread);
    if (auto r = check_accept(h, kind)) co_return co_await refuse(stream, *r, keep_unread);
    if (auto r = check_content_type(h, kind)) co_return co_await refuse(stream, *r, keep_unread);
    if (auto r = check_size(h, self->opts.max_body_bytes)) co_return co_await refuse(stream, *r, false);

    std::string body;
    if (has_body) {
      parser.body_limit(self->opts.max_body_bytes);
      // A small body usually arrives with its head: parse what is buffered first, and start a
      // timed read (an asynchronous operation and a timer) only when some of it is missing.
      error_code ec;
      while (!parser.is_done() && buffer.size() > 0) {
        const std::size_t used = parser.put(buffer.data(), ec);
        buffer.consume(used);
        if (ec == bhttp::error::need_more) ec = {};
        if (ec || used == 0) break;
      }
      if (!ec && !parser.is_done()) {
        stream_ops<Stream>::expires_after(stream, self->opts.read_timeout);
        std::tie(ec, std::ignore) =
            co_await bhttp::async_read(stream, buffer, parser, tuple_awaitable);
      }
      if (ec == bhttp::error::body_limit) {
        co_return co_await refuse(stream, body_too_large(self->opts.max_body_bytes), false);
      }
      if (ec) co_return false;
      body = std::move(parser.get().body());
    }
    stream_ops<Stream>::expires_never(stream);
    switch (kind) {
      case exchange::post:
        co_return co_await handle_post(self, stream, h, std::move(body));
      case exchange::get_stream: {
        std::string last_event_id(sv(req["Last-Event-ID"]));
        co_return co_await handle_get(self, stream, h, std::move(last_event_id));
      }
      case exchange::end_session:
        co_return co_await handle_delete(self, stream, h);
      case exchange::legacy_open:
        co_return co_await handle_legacy_open(self, stream);
      case exchange::legacy_post:
        co_return co_await handle_legacy_post(self, stream, routed_to.ok->legacy_session,
                                              std::move(body));
    }
    co_return false;
  }

  template <class Stream>
  static asio::awaitable<void> run_connection(std::shared_ptr<impl> self, Stream stream,
                                              beast::flat_buffer buffer,
                                              std::unique_ptr<request_parser> first) {
    if (self->connections >= self->opts.max_connections) {
      rejection r;
      r.status = 503;
      r.body = jsonrpc_error_body(-32603, "too many connections");
      co_await refuse(stream, r, false);
    } else {
      ++self->connections;
      try {
        std::unique_ptr<request_parser> parser = std::move(first);
        for (;;) {
          if (!parser) {
            parser = std::make_unique<request_parser>();
            parser->header_limit(16 * 1024);
            parser->body_limit(boost::none);  // checked against the limit once routed
            stream_ops<Stream>::expires_after(stream, self->opts.read_timeout);
            auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, *parser,
                                                             tuple_awaitable);
            if (ec) break;  // closed, idle too long, or not HTTP
          }
          if (!co_await handle(self, stream, buffer, *parser)) break;
          parser.reset();
        }
      } catch (const std::exception& e) {
        EXAI_LOG(warn, "http", "connection failed", {"error", e.what()});
      }
      --self->connections;
    }
    stream_ops<Stream>::close(stream);
  }
};

}  // namespace exai::gateway::http
