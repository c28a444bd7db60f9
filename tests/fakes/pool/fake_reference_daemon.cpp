// TEST DOUBLE — NOT A DAEMON. exai-fake-reference-daemon is a replay peer of the *reference*
// (Python) EXAI daemon, written for the daemon pool's tests (issue 5). It reproduces the
// reference daemon's wire quirks from shared/docs/exai-op-protocol.md so the gateway's serial mode
// can be tested against them: bare errors without op or request_id, stream_complete before a
// fresh result, text-only progress every few seconds, close 1008 on the 11th connection from one
// address, rate-limit OVER_CAPACITY errors without request_id, strictly one message at a time per
// connection, no real cancel, a 300 s result cache, a failed request_id that never gets a reply
// again, and a tool (`hang`) whose request never gets a reply. See tests/fakes/pool/README.md.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

struct config {
  std::string host = "127.0.0.1";
  std::uint16_t port = 3010;
  std::string ready_file;
  std::string token;                        // empty: no auth (as the reference daemon)
  long progress_interval_ms = 5000;         // reference: every 5 s while a call runs
  std::size_t max_per_ip = 10;              // reference: 10 connections per source IP
  double session_rate = 5, session_burst = 50;   // messages/s per session
  double ip_rate = 10, ip_burst = 100;           // per source IP
  double global_rate = 100, global_burst = 100;  // all connections
  long hello_timeout_ms = 15000;            // EXAI_WS_HELLO_TIMEOUT
  long ping_interval_ms = 30000;            // keep-alive pings
  long tool_timeout_ms = 300000;            // the daemon's fixed tool timeout
  long cache_ttl_ms = 300000;               // result cache by tool name + arguments
  std::size_t max_bytes = 32u * 1024 * 1024;
  bool verbose = false;
};

// Token bucket: `rate` per second, at most `burst` stored.
struct bucket {
  double rate = 0, burst = 0, tokens = 0;
  clock_type::time_point last = clock_type::now();
  bucket() = default;
  bucket(double r, double b) : rate(r), burst(b), tokens(b) {}
  bool take() {
    const auto now = clock_type::now();
    tokens = std::min(burst, tokens + rate * std::chrono::duration<double>(now - last).count());
    last = now;
    if (tokens < 1.0) return false;
    tokens -= 1.0;
    return true;
  }
};

struct cached_result {
  json::array outputs;
  clock_type::time_point at;
};

struct state {
  config cfg;
  std::map<std::string, std::size_t> per_ip;
  std::map<std::string, bucket> ip_buckets;
  bucket global;
  std::map<std::string, cached_result> cache;
  std::set<std::string> failed_ids;  // hazard 2: a later call with such an id never gets a reply
  std::mt19937_64 rng{std::random_device{}()};
  // Counters for the `status` tool.
  std::uint64_t accepted = 0, refused_1008 = 0, hellos = 0, completed = 0, failed = 0, hung = 0,
                rate_limited = 0, cached_hits = 0, progress_sent = 0, bare_errors = 0;
  std::size_t active = 0, max_active = 0;
};

void log_line(const state& st, const std::string& s) {
  if (st.cfg.verbose) std::cerr << "[fake-reference-daemon] " << s << "\n";
}

// ---- Python-style JSON: ", " and ": " separators, non-ASCII escaped as \uXXXX ----------------
void dump_string(std::string_view s, std::string& out) {
  static const char* hex = "0123456789abcdef";
  auto u16 = [&](unsigned cp) {
    out += "\\u";
    for (int sh = 12; sh >= 0; sh -= 4) out.push_back(hex[(cp >> sh) & 0xF]);
  };
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (c < 0x20) u16(c);
          else out.push_back(static_cast<char>(c));
      }
      ++i;
      continue;
    }
    // Boost.JSON gave us valid UTF-8: decode one code point.
    unsigned cp = 0;
    int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    cp = c & (len == 4 ? 0x07 : len == 3 ? 0x0F : 0x1F);
    for (int k = 1; k < len && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    i += len;
    if (cp > 0xFFFF) {
      cp -= 0x10000;
      u16(0xD800 + (cp >> 10));
      u16(0xDC00 + (cp & 0x3FF));
    } else {
      u16(cp);
    }
  }
  out.push_back('"');
}

void dump(const json::value& v, std::string& out) {
  switch (v.kind()) {
    case json::kind::string: dump_string(v.get_string(), out); break;
    case json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out += ", ";
        first = false;
        dump(e, out);
      }
      out.push_back(']');
      break;
    }
    case json::kind::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out += ", ";
        first = false;
        dump_string(kv.key(), out);
        out += ": ";
        dump(kv.value(), out);
      }
      out.push_back('}');
      break;
    }
    default: out += json::serialize(v); break;
  }
}

std::string python_json(const json::value& v) {
  std::string out;
  dump(v, out);
  return out;
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

json::object error_body(std::string_view code, std::string_view message) {
  json::object e;
  e["code"] = code;
  e["message"] = message;
  return e;
}

json::array tool_list() {
  auto tool = [](std::string_view name, std::string_view desc, json::object props, json::array required) {
    json::object schema;
    schema["type"] = "object";
    schema["properties"] = std::move(props);
    schema["required"] = std::move(required);
    json::object t;
    t["name"] = name;
    t["description"] = desc;
    t["inputSchema"] = std::move(schema);
    return t;
  };
  json::array tools;
  tools.push_back(tool("echo", "Echo the text back", json::object{{"text", json::object{{"type", "string"}}}},
                       json::array{"text"}));
  tools.push_back(tool("delay", "Wait ms milliseconds, reporting progress",
                       json::object{{"ms", json::object{{"type", "number"}}}}, json::array{"ms"}));
  tools.push_back(tool("fail", "Raise an exception (a bare error), or with document:true answer a status document",
                       json::object{{"message", json::object{{"type", "string"}}},
                                    {"document", json::object{{"type", "boolean"}}}},
                       json::array{}));
  tools.push_back(tool("hang", "Never answer (a request that never gets a reply)", json::object{}, json::array{}));
  tools.push_back(tool("status", "Counters of this test double", json::object{}, json::array{}));
  return tools;
}

// One WebSocket connection, reference-daemon style: one message at a time, in order.
class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(tcp::socket s, state& st) : ws_(std::move(s)), st_(st), wake_(ws_.get_executor()) {}

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    boost::system::error_code ec;
    auto remote = beast::get_lowest_layer(ws_).socket().remote_endpoint(ec);
    ip_ = ec ? std::string("?") : remote.address().to_string();

    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(beast::http::field::server, "exai-fake-reference-daemon (test double)");
    }));
    websocket::stream_base::timeout t{};
    t.handshake_timeout = std::chrono::seconds(10);
    t.idle_timeout = std::chrono::milliseconds(st_.cfg.ping_interval_ms * 2);
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.read_message_max(st_.cfg.max_bytes);  // larger: Beast closes with 1009, as the reference
    auto [aec] = co_await ws_.async_accept(nothrow);
    if (aec) co_return;

    const std::size_t n = ++st_.per_ip[ip_];
    struct guard {
      state& st;
      std::string ip;
      ~guard() { --st.per_ip[ip]; }
    } g{st_, ip_};
    if (n > st_.cfg.max_per_ip) {
      // Hazard/section 1: the 11th connection from one address is closed with 1008 before any hello.
      ++st_.refused_1008;
      log_line(st_, "refusing connection " + std::to_string(n) + " from " + ip_ + " (1008)");
      co_await ws_.async_close(websocket::close_reason(websocket::close_code::policy_error, "Too many connections"),
                               nothrow);
      co_return;
    }
    ++st_.accepted;
    ++st_.active;  // connections past the per-address check (max_active: the peak)
    st_.max_active = std::max(st_.max_active, st_.active);
    struct active_guard {
      state& st;
      ~active_guard() { --st.active; }
    } ag{st_};
    try {
      co_await (reader() || processor());
    } catch (const std::exception&) {
    }
  }

 private:
  asio::awaitable<void> reader() {
    beast::flat_buffer buf;
    for (;;) {
      auto [ec, n] = co_await ws_.async_read(buf, nothrow);
      if (ec) break;
      inbox_.push_back(beast::buffers_to_string(buf.data()));
      buf.consume(buf.size());
      wake_.cancel();
    }
    closed_ = true;
    wake_.cancel();
  }

  // Waits for the next inbound message until `until`; nullopt on timeout or close.
  asio::awaitable<std::optional<std::string>> next(clock_type::time_point until) {
    while (inbox_.empty()) {
      if (closed_) co_return std::nullopt;
      wake_.expires_at(until);
      auto [ec] = co_await wake_.async_wait(nothrow);
      if (!ec && inbox_.empty()) co_return std::nullopt;  // timed out
      if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none)
        co_return std::nullopt;
    }
    std::string m = std::move(inbox_.front());
    inbox_.pop_front();
    co_return m;
  }

  asio::awaitable<bool> send(const json::value& v) {
    std::string text = python_json(v);
    ws_.text(true);
    auto [ec, n] = co_await ws_.async_write(asio::buffer(text), nothrow);
    co_return !ec;
  }

  asio::awaitable<void> close_with(std::uint16_t code, std::string_view reason) {
    co_await ws_.async_close(websocket::close_reason(static_cast<websocket::close_code>(code), reason), nothrow);
  }

  asio::awaitable<void> processor() {
    // Handshake (section 2).
    auto first = co_await next(clock_type::now() + std::chrono::milliseconds(st_.cfg.hello_timeout_ms));
    if (!first) {
      if (!closed_) co_await close_with(4002, "Hello timeout");
      co_return;
    }
    boost::system::error_code pec;
    json::value hv = json::parse(*first, pec);
    if (pec || !hv.is_object()) {
      co_await close_with(4000, "Invalid JSON");
      co_return;
    }
    const auto& ho = hv.get_object();
    const auto* op = ho.if_contains("op");
    if (!op || !op->is_string() || op->get_string() != "hello") {
      json::object ack{{"op", "hello_ack"}, {"ok", false}, {"error", "missing_hello"}};
      co_await send(ack);
      co_await close_with(4001, "Missing hello");
      co_return;
    }
    std::string token;
    if (const auto* t = ho.if_contains("token"); t && t->is_string()) token = t->get_string();
    if (!st_.cfg.token.empty() && token != st_.cfg.token) {
      json::object ack{{"op", "hello_ack"}, {"ok", false}, {"error", "unauthorized"}};
      co_await send(ack);
      co_await close_with(4003, "Unauthorized");
      co_return;
    }
    std::string sid;
    if (const auto* s = ho.if_contains("session_id"); s && !s->is_null()) {
      bool valid = s->is_string() && s->get_string().size() >= 3 && s->get_string().size() <= 64;
      if (valid)
        for (char c : s->get_string())
          if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) valid = false;
      if (!valid) {
        // The reference daemon drops such a connection without any reply.
        log_line(st_, "bad session_id: dropping the connection");
        beast::get_lowest_layer(ws_).close();
        co_return;
      }
      sid = s->get_string();
    } else {
      sid = "sess-" + std::to_string(st_.rng());
    }
    ++st_.hellos;
    // No capabilities in the ack: the reference daemon ignores the section 4 extensions.
    json::object ack{{"op", "hello_ack"}, {"ok", true}, {"session_id", sid}};
    if (!co_await send(ack)) co_return;

    session_bucket_ = bucket(st_.cfg.session_rate, st_.cfg.session_burst);
    for (;;) {
      auto m = co_await next(clock_type::time_point::max());
      if (!m) co_return;
      if (!co_await handle(*m)) co_return;
    }
  }

  // Hazard 1: handled to completion before the next message is looked at.
  asio::awaitable<bool> handle(const std::string& text) {
    // Rate limits: every inbound message counts. Over: op error with no request_id.
    auto& ipb = st_.ip_buckets.try_emplace(ip_, st_.cfg.ip_rate, st_.cfg.ip_burst).first->second;
    const bool s_ok = session_bucket_.take();
    const bool i_ok = s_ok && ipb.take();
    const bool g_ok = i_ok && st_.global.take();
    if (!g_ok) {
      ++st_.rate_limited;
      json::object details{{"scope", !s_ok ? "session" : !i_ok ? "ip" : "global"}};
      json::object e = error_body("OVER_CAPACITY", "Rate limit exceeded");
      e["details"] = std::move(details);
      json::object msg{{"op", "error"}, {"error", std::move(e)}};
      co_return co_await send(msg);
    }
    boost::system::error_code pec;
    json::value v = json::parse(text, pec);
    if (pec || !v.is_object()) {
      json::object msg{{"op", "error"}, {"error", error_body("INVALID_REQUEST", "Invalid JSON")}};
      co_return co_await send(msg);
    }
    const auto& o = v.get_object();
    const auto* opv = o.if_contains("op");
    if (!opv || !opv->is_string()) {
      json::object msg{{"op", "error"}, {"error", error_body("INVALID_REQUEST", "Missing op")}};
      co_return co_await send(msg);
    }
    const std::string op(opv->get_string());
    std::string rid = "unknown";  // hazard 2: a missing id counts as "unknown"
    if (const auto* r = o.if_contains("request_id"); r && r->is_string()) rid = r->get_string();

    if (op == "list_tools") {
      json::object res{{"op", "list_tools_res"}, {"request_id", rid}, {"tools", tool_list()}, {"timestamp", unix_now()}};
      co_return co_await send(res);
    }
    if (op == "ping") {
      json::object res{{"op", "pong"}, {"request_id", rid}};
      co_return co_await send(res);
    }
    if (op == "cancel") {
      // Hazard 3: only acknowledged; nothing is stopped.
      json::object res{{"op", "cancelled"}, {"request_id", rid}};
      co_return co_await send(res);
    }
    if (op == "call_tool" || op == "tool_call") co_return co_await call(o, op, rid);
    co_return co_await bare_error("INVALID_REQUEST", "Unknown op: " + op);
  }

  asio::awaitable<bool> bare_error(std::string_view code, std::string message) {
    ++st_.bare_errors;
    json::object msg{{"error", error_body(code, message)}};  // no op, no request_id
    co_return co_await send(msg);
  }

  // Parks this connection for good (until the client goes away).
  asio::awaitable<bool> never_reply() {
    ++st_.hung;
    asio::steady_timer forever(ws_.get_executor(), clock_type::time_point::max());
    co_await forever.async_wait(nothrow);
    co_return false;
  }

  asio::awaitable<bool> call(const json::object& o, const std::string& op, const std::string& rid) {
    if (st_.failed_ids.count(rid)) {
      log_line(st_, "request_id " + rid + " failed before: never replying");
      co_return co_await never_reply();
    }
    std::string name;
    if (op == "call_tool") {
      if (const auto* n = o.if_contains("name"); n && n->is_string()) name = n->get_string();
    } else if (const auto* t = o.if_contains("tool"); t && t->is_object()) {
      if (const auto* n = t->get_object().if_contains("name"); n && n->is_string()) name = n->get_string();
    }
    json::object args;
    if (const auto* a = o.if_contains("arguments"); a && a->is_object()) args = a->get_object();

    static const std::set<std::string> known{"echo", "delay", "fail", "hang", "status"};
    if (!known.count(name)) co_return co_await bare_error("TOOL_NOT_FOUND", "Tool not found: " + name);

    if (name == "status") {
      json::object s{{"accepted", st_.accepted}, {"refused_1008", st_.refused_1008}, {"hellos", st_.hellos},
                     {"completed", st_.completed}, {"failed", st_.failed}, {"hung", st_.hung},
                     {"rate_limited", st_.rate_limited}, {"cached_hits", st_.cached_hits},
                     {"progress_sent", st_.progress_sent}, {"bare_errors", st_.bare_errors},
                     {"active", st_.active}, {"max_active", st_.max_active}};
      json::array outputs{json::object{{"type", "text"}, {"text", json::serialize(s)}}};
      json::object res{{"op", "call_tool_res"}, {"request_id", rid}, {"outputs", std::move(outputs)}};
      co_return co_await send(res);
    }
    if (name == "hang") co_return co_await never_reply();

    // Result cache (hazard 5), across sessions, by tool name + arguments.
    const std::string key = name + " " + python_json(args);
    if (st_.cfg.cache_ttl_ms > 0) {
      auto it = st_.cache.find(key);
      if (it != st_.cache.end() && clock_type::now() - it->second.at < std::chrono::milliseconds(st_.cfg.cache_ttl_ms)) {
        ++st_.cached_hits;
        json::object res{{"op", "call_tool_res"}, {"request_id", rid}, {"outputs", it->second.outputs},
                         {"from_cache", true}};
        co_return co_await send(res);
      }
    }

    if (name == "fail") {
      std::string m = "tool failed";
      if (const auto* v = args.if_contains("message"); v && v->is_string()) m = v->get_string();
      if (const auto* d = args.if_contains("document"); d && d->is_bool() && d->get_bool()) {
        // The other failure shape: a successful call_tool_res whose text is a status document.
        ++st_.failed;
        json::object doc{{"status", "fail_failed"}, {"error", m}};
        json::array outputs{json::object{{"type", "text"}, {"text", python_json(doc)}, {"metadata", json::object{}}}};
        ++st_.completed;
        json::object sc{{"op", "stream_complete"}, {"request_id", rid}};
        if (!co_await send(sc)) co_return false;
        json::object res{{"op", "call_tool_res"}, {"request_id", rid}, {"outputs", std::move(outputs)}};
        co_return co_await send(res);
      }
      ++st_.failed;
      st_.failed_ids.insert(rid);
      co_return co_await bare_error("TOOL_EXECUTION_ERROR", m);
    }

    std::string text;
    if (name == "echo") {
      const auto* v = args.if_contains("text");
      if (!v || !v->is_string()) co_return co_await bare_error("VALIDATION_ERROR", "Missing required argument: text");
      text = v->get_string();
    } else {  // delay
      const auto* v = args.if_contains("ms");
      if (!v || !v->is_number()) co_return co_await bare_error("VALIDATION_ERROR", "Missing required argument: ms");
      const long ms = static_cast<long>(v->to_number<double>());
      const long budget = std::min(ms, st_.cfg.tool_timeout_ms);
      const auto end = clock_type::now() + std::chrono::milliseconds(budget);
      asio::steady_timer t(ws_.get_executor());
      // Text-only progress every progress_interval_ms while the call runs.
      for (;;) {
        const auto next = std::min(end, clock_type::now() + std::chrono::milliseconds(st_.cfg.progress_interval_ms));
        t.expires_at(next);
        auto [ec] = co_await t.async_wait(nothrow);
        if (ec) co_return false;
        if (clock_type::now() >= end) break;
        ++st_.progress_sent;
        json::object p{{"op", "progress"}, {"request_id", rid}, {"message", "Tool execution in progress..."}};
        if (!co_await send(p)) co_return false;
      }
      if (ms > st_.cfg.tool_timeout_ms) {
        ++st_.failed;
        st_.failed_ids.insert(rid);
        co_return co_await bare_error("TIMEOUT", "Tool execution timed out");
      }
      text = "waited " + std::to_string(ms) + " ms";
    }
    json::array outputs{json::object{{"type", "text"}, {"text", text}, {"metadata", json::object{{"tool", name}}}}};
    if (st_.cfg.cache_ttl_ms > 0) st_.cache[key] = cached_result{outputs, clock_type::now()};
    ++st_.completed;
    // stream_complete comes before a fresh successful result; it is not the result.
    json::object sc{{"op", "stream_complete"}, {"request_id", rid}};
    if (!co_await send(sc)) co_return false;
    json::object res{{"op", "call_tool_res"}, {"request_id", rid}, {"outputs", std::move(outputs)}};
    co_return co_await send(res);
  }

  websocket::stream<beast::tcp_stream> ws_;
  state& st_;
  std::string ip_;
  std::deque<std::string> inbox_;
  asio::steady_timer wake_;
  bool closed_ = false;
  bucket session_bucket_;
};

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, state& st) {
  for (;;) {
    auto [ec, sock] = co_await acceptor.async_accept(nothrow);
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      continue;
    }
    auto c = std::make_shared<connection>(std::move(sock), st);
    asio::co_spawn(acceptor.get_executor(), c->run(), asio::detached);
  }
}

[[noreturn]] void usage(int code) {
  std::cerr <<
      "exai-fake-reference-daemon: TEST DOUBLE of the reference EXAI daemon (not a daemon).\n"
      "  --listen HOST:PORT            (default 127.0.0.1:3010; port 0 picks one)\n"
      "  --ready-file FILE             written once listening: {\"ws\":\"HOST:PORT\"}\n"
      "  --token T                     required hello token (default: none; env EXAI_WS_TOKEN)\n"
      "  --progress-interval-ms N      progress while a call runs (default 5000)\n"
      "  --max-per-ip N                connections per source address (default 10; more: 1008)\n"
      "  --session-rate R --session-burst B   messages/s per session (default 5, 50)\n"
      "  --ip-rate R --ip-burst B      per address (default 10, 100)\n"
      "  --global-rate R --global-burst B     all connections (default 100, 100)\n"
      "  --no-rate-limit               disable the three limits\n"
      "  --hello-timeout-ms N          (default 15000)   --ping-interval-ms N (default 30000)\n"
      "  --tool-timeout-ms N           (default 300000)  --cache-ttl-ms N (default 300000; 0: off)\n"
      "  --verbose                     log events to stderr\n";
  std::exit(code);
}

}  // namespace

int main(int argc, char** argv) {
  state st;
  config& c = st.cfg;
  if (const char* t = std::getenv("EXAI_WS_TOKEN")) c.token = t;
  std::string listen = "127.0.0.1:3010";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) usage(2);
      return argv[++i];
    };
    if (a == "--listen") listen = val();
    else if (a == "--ready-file") c.ready_file = val();
    else if (a == "--token") c.token = val();
    else if (a == "--progress-interval-ms") c.progress_interval_ms = std::stol(val());
    else if (a == "--max-per-ip") c.max_per_ip = std::stoul(val());
    else if (a == "--session-rate") c.session_rate = std::stod(val());
    else if (a == "--session-burst") c.session_burst = std::stod(val());
    else if (a == "--ip-rate") c.ip_rate = std::stod(val());
    else if (a == "--ip-burst") c.ip_burst = std::stod(val());
    else if (a == "--global-rate") c.global_rate = std::stod(val());
    else if (a == "--global-burst") c.global_burst = std::stod(val());
    else if (a == "--no-rate-limit") {
      c.session_rate = c.ip_rate = c.global_rate = 1e9;
      c.session_burst = c.ip_burst = c.global_burst = 1e9;
    } else if (a == "--hello-timeout-ms") c.hello_timeout_ms = std::stol(val());
    else if (a == "--ping-interval-ms") c.ping_interval_ms = std::stol(val());
    else if (a == "--tool-timeout-ms") c.tool_timeout_ms = std::stol(val());
    else if (a == "--cache-ttl-ms") c.cache_ttl_ms = std::stol(val());
    else if (a == "--verbose") c.verbose = true;
    else if (a == "--help" || a == "-h") usage(0);
    else usage(2);
  }
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) usage(2);
  c.host = listen.substr(0, colon);
  c.port = static_cast<std::uint16_t>(std::stoi(listen.substr(colon + 1)));
  st.global = bucket(c.global_rate, c.global_burst);

  asio::io_context io(1);
  tcp::acceptor acceptor(io);
  tcp::endpoint ep(asio::ip::make_address(c.host), c.port);
  acceptor.open(ep.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(ep);
  acceptor.listen(asio::socket_base::max_listen_connections);
  const auto bound = acceptor.local_endpoint();
  const std::string where = bound.address().to_string() + ":" + std::to_string(bound.port());
  if (!c.ready_file.empty()) {
    const std::string tmp = c.ready_file + ".tmp";
    {
      std::ofstream f(tmp);
      f << "{\"ws\":\"" << where << "\"}\n";
    }
    std::rename(tmp.c_str(), c.ready_file.c_str());
  }
  std::cerr << "exai-fake-reference-daemon (TEST DOUBLE) listening on " << where << "\n";

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto, int) {
    acceptor.close();
    io.stop();
  });
  asio::co_spawn(io, accept_loop(acceptor, st), asio::detached);
  io.run();
  return 0;
}
