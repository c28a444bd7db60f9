// Component tests of the MCP HTTP server (gateway/http/server_impl.hpp) on Beast's test stream:
// every HTTP error status, JSON and SSE replies and their framing, the session id (issue, tamper,
// expiry, DELETE, a second server sharing the secret), the GET stream with Last-Event-ID, and the
// 2024-11-05 /sse + /messages pair. Real gateway sessions over a scripted backend (fake_backend).
#define BOOST_TEST_MODULE gateway_http_component
#include "gateway/http/server_impl.hpp"

#include "codecs/sse.hpp"
#include "fake_backend.hpp"
#include "gateway/session.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

namespace exai::gateway::http::detail {

// The test stream has no socket to watch nor timers. The peer watch is kept so a test can report
// the client gone (`peer_left`), standing in for the readable-but-empty socket that the
// beast::tcp_stream specialisation detects; detection itself is covered by the interop tests.
template <>
struct stream_ops<beast::test::stream> {
  static inline std::weak_ptr<peer_watch> last_watch;
  static void expires_after(beast::test::stream&, std::chrono::milliseconds) {}
  static void expires_never(beast::test::stream&) {}
  static void watch_peer(beast::test::stream&, const std::shared_ptr<peer_watch>& w) { last_watch = w; }
  // What the socket watch does when the client closes; false when no exchange is watching.
  static bool peer_left() {
    auto w = last_watch.lock();
    if (!w || !w->to_wake) return false;
    w->gone = true;
    w->to_wake->notify();
    return true;
  }
  static void stop_watch(beast::test::stream&) {}
  static void close(beast::test::stream& s) { s.close(); }
};

}  // namespace exai::gateway::http::detail

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace json = boost::json;
namespace http = exai::gateway::http;
using namespace std::chrono_literals;

const std::string secret = "component-test-secret";

struct gateway {
  asio::io_context& ioc;
  exai::test::fake_backend backend;
  exai::routes::route_options routes;
  std::vector<std::shared_ptr<exai::gateway::session>> sessions;
  std::unique_ptr<http::server> srv;
  int ended = 0;  // sessions the server ended

  gateway(asio::io_context& io, http::server_options o, std::string key = secret) : ioc(io) {
    http::session_hooks hooks;
    hooks.open = [this] {
      auto s = exai::gateway::session::create(ioc.get_executor(), backend, routes, {});
      sessions.push_back(s);
      return s;
    };
    hooks.end = [this](std::shared_ptr<exai::gateway::session> s) {
      ++ended;
      asio::co_spawn(ioc, s->async_end(exai::gateway::loss_policy::cancel), asio::detached);
    };
    srv = std::make_unique<http::server>(ioc.get_executor(), std::move(o), http::session_sealer(key),
                                         std::move(hooks));
  }
};

struct reply {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  bool complete = false;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A client connection to the server over a test stream pair.
struct client {
  asio::io_context& ioc;
  beast::test::stream out;
  beast::flat_buffer buf;

  client(asio::io_context& io, gateway& g) : ioc(io), out(io) {
    beast::test::stream in(ioc);
    out.connect(in);
    asio::co_spawn(ioc,
                   http::server::impl::run_connection<beast::test::stream>(
                       g.srv->get_impl(), std::move(in), beast::flat_buffer{}, nullptr),
                   asio::detached);
  }

  template <class Pred>
  void run_until(Pred done, std::chrono::milliseconds limit = 3s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < end) ioc.run_one_for(10ms);
  }

  void send(const std::string& raw) { asio::write(out, asio::buffer(raw)); }

  // Reads one whole response (chunked SSE included) or gives up after `limit`.
  reply read(std::chrono::milliseconds limit = 3s) {
    auto r = std::make_shared<reply>();
    auto parser = std::make_shared<bhttp::response_parser<bhttp::string_body>>();
    parser->body_limit(boost::none);
    bool done = false;
    bhttp::async_read(out, buf, *parser, [&, r, parser](beast::error_code ec, std::size_t) {
      done = true;
      if (ec && !parser->is_header_done()) return;
      auto& m = parser->get();
      r->status = m.result_int();
      for (const auto& f : m) r->headers[lower(std::string(f.name_string()))] = std::string(f.value());
      r->body = m.body();
      r->complete = !ec;
    });
    run_until([&] { return done; }, limit);
    return *r;
  }

  // Reads whatever arrives within `limit` (for streams that do not end).
  std::string read_some_for(std::chrono::milliseconds limit) {
    std::string got;
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      ioc.run_one_for(10ms);
      // Only what is already buffered, so the read never blocks.
      if (out.buffer().size() > 0) {
        char tmp[4096];
        beast::error_code ec;
        auto n = out.read_some(asio::buffer(tmp), ec);
        got.append(tmp, n);
      }
    }
    return got;
  }
};

std::string request(std::string_view method, std::string_view target, std::string_view body,
                    std::vector<std::pair<std::string, std::string>> headers = {}, bool defaults = true) {
  std::string r = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: localhost\r\n";
  if (defaults) {
    r += "Accept: application/json, text/event-stream\r\n";
    if (!body.empty()) r += "Content-Type: application/json\r\n";
  }
  for (const auto& [k, v] : headers) r += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST") r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  r += "\r\n";
  r += body;
  return r;
}

const std::string init_body =
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{"roots":{}},"clientInfo":{"name":"t","version":"1"}}})";

int error_code_of(const reply& r) {
  return static_cast<int>(json::parse(r.body).at("error").at("code").as_int64());
}

// Initializes a session; returns its id.
std::string initialize(client& c) {
  c.send(request("POST", "/mcp", init_body));
  auto r = c.read();
  BOOST_TEST_REQUIRE(r.status == 200u);
  BOOST_TEST(r.header("content-type") == "application/json");
  auto sid = r.header("mcp-session-id");
  BOOST_TEST_REQUIRE(!sid.empty());
  c.send(request("POST", "/mcp", R"({"jsonrpc":"2.0","method":"notifications/initialized"})",
                 {{"Mcp-Session-Id", sid}}));
  auto n = c.read();
  BOOST_TEST(n.status == 202u);
  BOOST_TEST(n.body.empty());
  return sid;
}

std::vector<exai::codecs::sse_event> events_of(const std::string& body) {
  exai::codecs::sse_decoder d;
  d.feed(body);
  std::vector<exai::codecs::sse_event> out;
  while (auto e = d.next()) out.push_back(e->value());
  return out;
}

struct fixture {
  asio::io_context ioc;
  http::server_options opts;
  fixture() {
    opts.max_body_bytes = 4096;
    opts.sse_after = 200ms;
  }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(initialize_then_call_as_json_on_keep_alive, fixture) {
  gateway g(ioc, opts);
  client c(ioc, g);
  const auto sid = initialize(c);
  c.send(request("POST", "/mcp",
                 R"({"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}})",
                 {{"Mcp-Session-Id", sid}, {"MCP-Protocol-Version", "2025-06-18"}}));
  auto r = c.read();
  BOOST_TEST(r.status == 200u);
  BOOST_TEST(r.header("content-type") == "application/json");
  auto v = json::parse(r.body);
  BOOST_TEST(v.at("id").as_string() == "a");
  BOOST_TEST(v.at("result").at("content").at(0).at("text").as_string() == "hi");
  BOOST_TEST(g.sessions.size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(routing_errors, fixture) {
  gateway g(ioc, opts);
  {
    client c(ioc, g);
    c.send(request("GET", "/", ""));
    auto r = c.read();
    BOOST_TEST(r.status == 404u);
    BOOST_TEST(r.header("content-type") == "application/json");
  }
  {
    client c(ioc, g);
    c.send(request("PUT", "/mcp", ""));
    auto r = c.read();
    BOOST_TEST(r.status == 405u);
    BOOST_TEST(r.header("allow") == "GET, POST, DELETE");
  }
  {
    client c(ioc, g);
    c.send(request("GET", "/messages?sessionId=x", ""));
    auto r = c.read();
    BOOST_TEST(r.status == 405u);
    BOOST_TEST(r.header("allow") == "POST");
  }
}

BOOST_FIXTURE_TEST_CASE(header_errors, fixture) {
  gateway g(ioc, opts);
  auto one = [&](const std::string& raw) {
    client c(ioc, g);
    c.send(raw);
    return c.read();
  };
  auto r = one(request("POST", "/mcp", init_body, {{"Origin", "https://evil.example"}}));
  BOOST_TEST(r.status == 403u);
  r = one(request("POST", "/mcp", init_body, {{"Accept", "application/json"}, {"Content-Type", "application/json"}}, false));
  BOOST_TEST(r.status == 406u);
  r = one(request("GET", "/mcp", "", {{"Accept", "application/json"}}, false));
  BOOST_TEST(r.status == 406u);
  r = one(request("POST", "/mcp", init_body, {{"Accept", "application/json, text/event-stream"}, {"Content-Type", "text/plain"}}, false));
  BOOST_TEST(r.status == 415u);
  r = one(request("POST", "/mcp", std::string(5000, ' ')));
  BOOST_TEST(r.status == 413u);
  r = one(request("POST", "/mcp", "{nope"));
  BOOST_TEST(r.status == 400u);
  BOOST_TEST(error_code_of(r) == -32700);
  r = one(request("POST", "/mcp", R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})"));
  BOOST_TEST(r.status == 400u);  // no Mcp-Session-Id
  r = one(request("POST", "/mcp", R"({"op":"ping"})"));
  BOOST_TEST(r.status == 400u);
  BOOST_TEST(error_code_of(r) == -32600);
}

BOOST_FIXTURE_TEST_CASE(chunked_body_over_the_limit_is_413, fixture) {
  gateway g(ioc, opts);
  client c(ioc, g);
  std::string raw = "POST /mcp HTTP/1.1\r\nHost: x\r\nAccept: application/json, text/event-stream\r\n"
                    "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  raw += "1388\r\n" + std::string(5000, ' ') + "\r\n0\r\n\r\n";
  c.send(raw);
  BOOST_TEST(c.read().status == 413u);
}

BOOST_FIXTURE_TEST_CASE(bearer_token, fixture) {
  opts.token = "s3cret";
  gateway g(ioc, opts);
  {
    client c(ioc, g);
    c.send(request("POST", "/mcp", init_body));
    auto r = c.read();
    BOOST_TEST(r.status == 401u);
    BOOST_TEST(r.header("www-authenticate") == "Bearer");
  }
  {
    client c(ioc, g);
    c.send(request("POST", "/mcp", init_body, {{"Authorization", "Bearer wrong"}}));
    BOOST_TEST(c.read().status == 401u);
  }
  {
    client c(ioc, g);
    c.send(request("POST", "/mcp", init_body, {{"Authorization", "Bearer s3cret"}}));
    BOOST_TEST(c.read().status == 200u);
  }
}

BOOST_FIXTURE_TEST_CASE(session_ids_unknown_tampered_version_and_delete, fixture) {
  gateway g(ioc, opts);
  client c(ioc, g);
  const auto sid = initialize(c);
  const std::string ping = R"({"jsonrpc":"2.0","id":7,"method":"ping"})";
  c.send(request("POST", "/mcp", ping, {{"Mcp-Session-Id", "not-a-session"}}));
  BOOST_TEST(c.read().status == 404u);
  // One flipped bit in the id: 404, whichever character.
  for (std::size_t i = 0; i < sid.size(); i += 7) {
    std::string t = sid;
    t[i] = static_cast<char>(t[i] ^ 0x01);
    c.send(request("POST", "/mcp", ping, {{"Mcp-Session-Id", t}}));
    BOOST_TEST_CONTEXT("char " << i) { BOOST_TEST(c.read().status == 404u); }
  }
  c.send(request("POST", "/mcp", ping, {{"Mcp-Session-Id", sid}, {"MCP-Protocol-Version", "2025-03-26"}}));
  BOOST_TEST(c.read().status == 400u);
  c.send(request("POST", "/mcp", ping, {{"Mcp-Session-Id", sid}}));
  auto ok = c.read();
  BOOST_TEST(ok.status == 200u);
  BOOST_TEST(json::serialize(json::parse(ok.body).at("result")) == "{}");
  c.send(request("DELETE", "/mcp", "", {{"Mcp-Session-Id", sid}}));
  auto del = c.read();
  BOOST_TEST(del.status == 204u);
  BOOST_TEST(del.header("content-length").empty());
  c.send(request("POST", "/mcp", ping, {{"Mcp-Session-Id", sid}}));
  BOOST_TEST(c.read().status == 404u);
  c.send(request("DELETE", "/mcp", "", {{"Mcp-Session-Id", sid}}));
  BOOST_TEST(c.read().status == 404u);
  c.send(request("DELETE", "/mcp", ""));
  BOOST_TEST(c.read().status == 400u);
}

BOOST_FIXTURE_TEST_CASE(idle_sessions_expire, fixture) {
  opts.session_idle = 100ms;
  gateway g(ioc, opts);
  client c(ioc, g);
  const auto sid = initialize(c);
  c.run_until([] { return false; }, 400ms);
  c.send(request("POST", "/mcp", R"({"jsonrpc":"2.0","id":1,"method":"ping"})", {{"Mcp-Session-Id", sid}}));
  BOOST_TEST(c.read().status == 404u);
  BOOST_TEST(g.srv->sessions() == 0u);
  BOOST_TEST(g.ended == 1);
}

BOOST_FIXTURE_TEST_CASE(sealed_ids_across_servers_and_their_expiry, fixture) {
  gateway a(ioc, opts);
  gateway b(ioc, opts);                     // same secret
  gateway other(ioc, opts, "another-secret");
  client ca(ioc, a);
  const auto sid = initialize(ca);
  const std::string call =
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"there"}}})";
  client cb(ioc, b);
  cb.send(request("POST", "/mcp", call, {{"Mcp-Session-Id", sid}, {"MCP-Protocol-Version", "2025-06-18"}}));
  auto r = cb.read();
  BOOST_TEST(r.status == 200u);
  BOOST_TEST(json::parse(r.body).at("result").at("content").at(0).at("text").as_string() == "there");
  // b re-created the session with the negotiated version: a different header is refused.
  cb.send(request("POST", "/mcp", call, {{"Mcp-Session-Id", sid}, {"MCP-Protocol-Version", "2024-11-05"}}));
  BOOST_TEST(cb.read().status == 400u);
  client co(ioc, other);
  co.send(request("POST", "/mcp", call, {{"Mcp-Session-Id", sid}}));
  BOOST_TEST(co.read().status == 404u);

  // A lifetime already over: the id is refused everywhere but where the session lives.
  opts.session_lifetime = 0ms;
  gateway shortlived(ioc, opts);
  client cs(ioc, shortlived);
  const auto sid2 = initialize(cs);
  client cb2(ioc, b);
  cb2.send(request("POST", "/mcp", call, {{"Mcp-Session-Id", sid2}}));
  BOOST_TEST(cb2.read().status == 404u);
}

BOOST_FIXTURE_TEST_CASE(progress_makes_an_sse_reply, fixture) {
  gateway g(ioc, opts);
  client c(ioc, g);
  const auto sid = initialize(c);
  c.send(request("POST", "/mcp",
                 R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"progress","arguments":{},"_meta":{"progressToken":"tok"}}})",
                 {{"Mcp-Session-Id", sid}}));
  auto r = c.read();
  BOOST_TEST(r.status == 200u);
  BOOST_TEST(r.header("content-type") == "text/event-stream");
  BOOST_TEST(r.header("transfer-encoding") == "chunked");
  BOOST_TEST(r.complete);
  auto ev = events_of(r.body);
  BOOST_REQUIRE(ev.size() >= 2u);
  for (std::size_t i = 0; i + 1 < ev.size(); ++i) {
    BOOST_TEST(ev[i].event == "message");
    BOOST_TEST(ev[i].id.empty());  // POST streams are not resumable
    auto p = json::parse(ev[i].data);
    BOOST_TEST(p.at("method").as_string() == "notifications/progress");
    BOOST_TEST(p.at("params").at("progressToken").as_string() == "tok");
  }
  auto last = json::parse(ev.back().data);
  BOOST_TEST(last.at("id").as_int64() == 3);
  BOOST_TEST(last.as_object().contains("result"));
  // The connection is still good for the next request.
  c.send(request("POST", "/mcp", R"({"jsonrpc":"2.0","id":4,"method":"ping"})", {{"Mcp-Session-Id", sid}}));
  BOOST_TEST(c.read().status == 200u);
}

BOOST_FIXTURE_TEST_CASE(a_long_call_switches_to_sse, fixture) {
  gateway g(ioc, opts);
  client c(ioc, g);
  const auto sid = initialize(c);
  c.send(request("POST", "/mcp",
                 R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"slow","arguments":{"ms":500}}})",
                 {{"Mcp-Session-Id", sid}}));
  auto r = c.read();
  BOOST_TEST(r.status == 200u);
  BOOST_TEST(r.header("content-type") == "text/event-stream");
  auto ev = events_of(r.body);
  BOOST_REQUIRE(ev.size() == 1u);
  BOOST_TEST(json::parse(ev[0].data).at("id").as_int64() == 5);
}

BOOST_FIXTURE_TEST_CASE(cancelled_notification_cancels_the_call, fixture) {
  gateway g(ioc, opts);
  client c(ioc, g);
  const auto sid = initialize(c);
  c.send(request("POST", "/mcp",
                 R"({"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"slow","arguments":{"ms":5000}}})",
                 {{"Mcp-Session-Id", sid}}));
  client c2(ioc, g);
  c2.run_until([&] { return g.backend.calls == 1; });
  c2.send(request("POST", "/mcp",
                  R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":6}})",
                  {{"Mcp-Session-Id", sid}}));
  BOOST_TEST(c2.read().status == 202u);
  c2.run_until([&] { return g.backend.cancelled == 1; });
  BOOST_TEST(g.backend.cancelled == 1);
}

BOOST_FIXTURE_TEST_CASE(a_dropped_post_response_cancels_its_call, fixture) {
  using ops = http::detail::stream_ops<beast::test::stream>;
  gateway g(ioc, opts);
  client c(ioc, g);
  const auto sid = initialize(c);
  c.send(request("POST", "/mcp",
                 R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"slow","arguments":{"ms":5000}}})",
                 {{"Mcp-Session-Id", sid}}));
  c.run_until([&] { return g.backend.calls == 1; });
  BOOST_TEST_REQUIRE(g.backend.calls == 1);
  BOOST_TEST(g.backend.cancelled == 0);
  c.out.close();
  BOOST_TEST_REQUIRE(ops::peer_left());
  c.run_until([&] { return g.backend.cancelled == 1; });
  BOOST_TEST(g.backend.cancelled == 1);
  // The session outlives the dropped exchange: a new connection still calls on it.
  client c2(ioc, g);
  c2.send(request("POST", "/mcp",
                  R"({"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"echo","arguments":{"text":"again"}}})",
                  {{"Mcp-Session-Id", sid}}));
  auto r = c2.read();
  BOOST_TEST(r.status == 200u);
  BOOST_TEST(g.ended == 0);
}

BOOST_FIXTURE_TEST_CASE(get_stream_carries_list_changed_and_resumes, fixture) {
  gateway g(ioc, opts);
  client c(ioc, g);
  const auto sid = initialize(c);
  client s(ioc, g);
  s.send(request("GET", "/mcp", "", {{"Mcp-Session-Id", sid}, {"Accept", "text/event-stream"}}, false));
  s.run_until([&] { return g.srv->open_streams() == 1; });
  BOOST_TEST_REQUIRE(g.srv->open_streams() == 1u);
  g.sessions.front()->notify_tools_changed();
  g.sessions.front()->notify_tools_changed();
  auto got = s.read_some_for(300ms);
  BOOST_TEST(got.find("text/event-stream") != std::string::npos);
  BOOST_TEST(got.find("id: 1\n") != std::string::npos);
  BOOST_TEST(got.find("id: 2\n") != std::string::npos);
  BOOST_TEST(got.find("notifications/tools/list_changed") != std::string::npos);
  // A second GET replaces the first and replays what followed event 1.
  client s2(ioc, g);
  s2.send(request("GET", "/mcp", "",
                  {{"Mcp-Session-Id", sid}, {"Accept", "text/event-stream"}, {"Last-Event-ID", "1"}},
                  false));
  auto again = s2.read_some_for(300ms);
  BOOST_TEST(again.find("id: 2\n") != std::string::npos);
  BOOST_TEST(again.find("id: 1\n") == std::string::npos);
  BOOST_TEST(g.srv->open_streams() == 1u);
}

BOOST_FIXTURE_TEST_CASE(legacy_sse_and_messages, fixture) {
  gateway g(ioc, opts);
  client s(ioc, g);
  s.send(request("GET", "/sse", "", {{"Accept", "text/event-stream"}}, false));
  auto first = s.read_some_for(200ms);
  const auto at = first.find("event: endpoint\ndata: /messages?sessionId=");
  BOOST_TEST_REQUIRE(at != std::string::npos);
  const auto start = first.find("/messages", at);
  const auto uri = first.substr(start, first.find('\n', start) - start);
  client p(ioc, g);
  p.send(request("POST", uri, init_body));
  auto r = p.read();
  BOOST_TEST(r.status == 202u);
  BOOST_TEST(r.body == "Accepted");
  auto more = s.read_some_for(200ms);
  BOOST_TEST(more.find("\"protocolVersion\":\"2025-06-18\"") != std::string::npos);
  p.send(request("POST", "/messages?sessionId=unknown", init_body));
  BOOST_TEST(p.read().status == 404u);
}

BOOST_FIXTURE_TEST_CASE(stopping_answers_503, fixture) {
  gateway g(ioc, opts);
  g.srv->stop();
  client c(ioc, g);
  c.send(request("POST", "/mcp", init_body));
  BOOST_TEST(c.read().status == 503u);
}

BOOST_FIXTURE_TEST_CASE(session_limit_answers_503, fixture) {
  opts.max_sessions = 1;
  gateway g(ioc, opts);
  client c(ioc, g);
  initialize(c);
  c.send(request("POST", "/mcp", init_body));
  auto r = c.read();
  BOOST_TEST(r.status == 503u);
  BOOST_TEST(error_code_of(r) == -32603);
  client s(ioc, g);
  s.send(request("GET", "/sse", "", {{"Accept", "text/event-stream"}}, false));
  BOOST_TEST(s.read().status == 503u);
}

// ---- subscriptions/listen over Streamable HTTP: the POST's SSE response is the stream --------

namespace {

std::string listen_body(std::string_view id, std::string_view notifications) {
  return std::string(R"({"jsonrpc":"2.0","id":)") + std::string(id) +
         R"(,"method":"subscriptions/listen","params":{"notifications":)" + std::string(notifications) +
         R"(,"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}})";
}

const std::vector<std::pair<std::string, std::string>> listen_headers = {
    {"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", "subscriptions/listen"}};

std::vector<json::value> data_of(const std::string& raw) {
  std::vector<json::value> out;
  std::size_t at = 0;
  while ((at = raw.find("data: ", at)) != std::string::npos) {
    const auto end = raw.find('\n', at);
    out.push_back(json::parse(raw.substr(at + 6, end - at - 6)));
    at = end;
  }
  return out;
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(listen_post_streams_its_notifications_until_closed, fixture) {
  using ops = http::detail::stream_ops<beast::test::stream>;
  gateway g(ioc, opts);
  client c(ioc, g);
  c.send(request("POST", "/mcp", listen_body("\"L\"", R"({"toolsListChanged":true})"), listen_headers));
  auto head = c.read_some_for(300ms);
  BOOST_TEST(head.find("text/event-stream") != std::string::npos);
  auto first = data_of(head);
  BOOST_TEST_REQUIRE(first.size() == 1u);
  BOOST_TEST(first[0].at("method").as_string() == "notifications/subscriptions/acknowledged");
  BOOST_TEST(first[0].at("params").at("_meta").at("io.modelcontextprotocol/subscriptionId").as_string() == "L");
  BOOST_TEST_REQUIRE(g.sessions.size() == 1u);
  auto& s = g.sessions.front();
  BOOST_TEST(s->subscriptions() == 1u);
  BOOST_TEST(g.srv->open_streams() == 1u);

  s->notify_tools_changed();
  auto more = data_of(c.read_some_for(200ms));
  BOOST_TEST_REQUIRE(more.size() == 1u);
  BOOST_TEST(more[0].at("method").as_string() == "notifications/tools/list_changed");
  BOOST_TEST(more[0].at("params").at("_meta").at("io.modelcontextprotocol/subscriptionId").as_string() == "L");

  // Closing the response stream ends the subscription and the exchange's session.
  c.out.close();
  BOOST_TEST_REQUIRE(ops::peer_left());
  c.run_until([&] { return g.ended == 1 && s->subscriptions() == 0 && s->drained(); });
  BOOST_TEST(s->subscriptions() == 0u);
  BOOST_TEST(g.ended == 1);
  BOOST_TEST(s->inflight() == 0u);
  BOOST_TEST(g.srv->open_streams() == 0u);
}

BOOST_FIXTURE_TEST_CASE(listen_post_filters_and_ends_with_its_result_on_shutdown, fixture) {
  gateway g(ioc, opts);
  client c(ioc, g);
  c.send(request("POST", "/mcp", listen_body("5", R"({"promptsListChanged":true})"), listen_headers));
  auto first = data_of(c.read_some_for(300ms));
  BOOST_TEST_REQUIRE(first.size() == 1u);
  BOOST_TEST(first[0].at("params").at("notifications").as_object().empty());
  auto& s = g.sessions.front();
  s->notify_tools_changed();
  BOOST_TEST(data_of(c.read_some_for(200ms)).empty());  // not requested: not sent
  s->shutdown(5000ms);
  auto last = c.read_some_for(300ms);
  auto end = data_of(last);
  BOOST_TEST_REQUIRE(end.size() == 1u);
  BOOST_TEST(end[0].at("id").as_int64() == 5);
  BOOST_TEST(end[0].at("result").at("_meta").at("io.modelcontextprotocol/subscriptionId").as_int64() == 5);
  BOOST_TEST(last.find("0\r\n\r\n") != std::string::npos);  // the response stream ended
}
