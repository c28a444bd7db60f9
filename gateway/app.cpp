// exai-gateway's process lifecycle (gateway/app.hpp): build the backend, open the listeners,
// create a session per connection, write the ready file, and stop gracefully on a signal.
#include "gateway/app.hpp"

#include "gateway/allocator.hpp"
#include "gateway/embedded_backend.hpp"
#include "gateway/http/server.hpp"
#include "gateway/pool/daemon_pool.hpp"
#include "gateway/session.hpp"
#include "gateway/session_registry.hpp"
#include "gateway/stdio_transport.hpp"
#include "gateway/stream_pump.hpp"
#include "gateway/ws_listener.hpp"
#include "net/admin_http.hpp"
#include "observability/log.hpp"
#include "observability/metrics.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <random>
#include <unistd.h>
#include <unordered_map>

#ifndef EXAI_GATEWAY_VERSION
#define EXAI_GATEWAY_VERSION "0.0.0"
#endif

namespace exai::gateway {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using clock = std::chrono::steady_clock;

// Fatal startup messages go straight to stderr: they must show even with logging off.
void fatal(const std::string& message) {
  std::fprintf(stderr, "exai-gateway: %s\n", message.c_str());
  std::fflush(stderr);
}

// Written once, atomically (temp file + rename), so a reader never sees half a file.
bool write_ready_file(const std::string& path, const json::object& content) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return false;
    out << json::serialize(content) << '\n';
    if (!out.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

std::string address_error(const host_port& where, std::string_view what,
                          const boost::system::error_code& ec) {
  std::string m = "cannot listen on " + where.to_string() + " (" + std::string(what) + "): " +
                  ec.message();
  if (ec == asio::error::address_in_use) {
    m += "; port " + std::to_string(where.port) +
         " is already in use by another process (it was left alone)";
  }
  return m;
}

class app {
 public:
  explicit app(const gateway_config& c) : cfg_(c), signals_(ioc_, SIGINT, SIGTERM) {
    std::random_device rd;
    session_prefix_ = "gw-" + to_hex(rd()) + "-";
    routes_.server_name = "exai-gateway";
    routes_.server_version = EXAI_GATEWAY_VERSION;
    routes_.call_timeout = c.call_timeout;
    for (const auto& [k, v] : c.tool_timeouts) routes_.tool_timeouts.emplace(k, v);
    routes_.page_size = c.page_size;
    routes_.token = c.client_token;
    routes_.max_inflight = static_cast<std::uint32_t>(c.websocket.max_inflight_per_session);
  }

  int run() {
    EXAI_LOG(info, "gateway", "starting", {"version", EXAI_GATEWAY_VERSION},
             {"allocator", allocator_name()});
    if (int rc = make_backend(); rc != exit_ok) return rc;
    if (int rc = open_listeners(); rc != exit_ok) return rc;
    if (!cfg_.ready_file.empty()) {
      json::object ready;
      if (listener_) ready["ws"] = listener_->local_endpoint();
      if (admin_) ready["admin"] = admin_->local_endpoint();
      if (cfg_.stdio) ready["stdio"] = true;
      ready["pid"] = static_cast<std::int64_t>(::getpid());
      if (!write_ready_file(cfg_.ready_file, ready)) {
        fatal("cannot write the ready file " + cfg_.ready_file);
        return exit_startup_failure;
      }
    }
    wait_for_signal();
    if (cfg_.stdio) start_stdio();
    ioc_.run();
    return exit_code_;
  }

 private:
  static std::string to_hex(std::uint32_t v) {
    std::string out(8, '0');  // zero-padded to eight digits
    char digits[8];
    const auto end = std::to_chars(digits, digits + sizeof digits, v, 16).ptr;
    const auto n = static_cast<std::size_t>(end - digits);
    out.replace(8 - n, n, digits, n);
    return out;
  }

  int make_backend() {
    if (cfg_.embedded()) {
      auto b = std::make_unique<embedded_backend>(ioc_.get_executor(), cfg_.profiles);
      embedded_ = b.get();
      backend_ = std::move(b);
      EXAI_LOG(info, "gateway", "backend: embedded tool host", {"tools", join(cfg_.profiles)});
    } else {
      pool::pool_options opts = cfg_.pool;
      // A client message near our limit becomes a larger daemon message (the op envelope):
      // such calls fail alone as tool errors. Say so once at startup.
      if (cfg_.websocket.max_message_bytes >= opts.upstream_max_message) {
        EXAI_LOG(warn, "gateway",
                 "client messages may be larger than the daemon reads; such calls fail as tool "
                 "errors without being sent",
                 {"websocket.max_message_bytes", cfg_.websocket.max_message_bytes},
                 {"upstream.max_message_bytes", opts.upstream_max_message});
      }
      auto p = std::make_unique<pool::daemon_pool>(ioc_.get_executor(), std::move(opts));
      pool_ = p.get();
      backend_ = std::move(p);
      pool_->start();
      EXAI_LOG(info, "gateway", "backend: daemon pool", {"upstream", join(cfg_.upstreams)});
    }
    asio::co_spawn(ioc_, watch_tools(),
                   asio::bind_cancellation_slot(stop_watching_tools_.slot(), asio::detached));
    return exit_ok;
  }

  // Tells every session when the backend's tool set changes; ends when cancelled (finish()).
  asio::awaitable<void> watch_tools() {
    std::uint64_t seen = 0;
    for (;;) {
      seen = co_await backend_->async_wait_tools_changed(seen);
      for (auto& s : sessions_.all()) s->notify_tools_changed();
    }
  }

  int open_listeners() {
    if (cfg_.listen) {
      ws_listener_options o;
      o.endpoint = *cfg_.listen;
      o.limits = cfg_.websocket;
      o.token = cfg_.client_token;
      http::server_options ho;
      ho.allowed_origins = cfg_.websocket.allowed_origins;
      ho.token = cfg_.client_token;
      ho.max_body_bytes = cfg_.websocket.max_message_bytes;
      ho.max_connections = cfg_.websocket.max_connections;
      ho.read_timeout = cfg_.websocket.idle_timeout;
      ho.session_idle = cfg_.http.session_idle;
      ho.session_lifetime = cfg_.http.session_lifetime;
      ho.sse_after = cfg_.http.sse_after;
      ho.max_sessions = cfg_.http.max_sessions;
      http::session_hooks hooks;
      hooks.open = [this] { return open_http_session(); };
      hooks.end = [this](std::shared_ptr<session> s) { end_http_session(std::move(s)); };
      http_ = std::make_unique<http::server>(ioc_.get_executor(), ho,
                                             http::session_sealer::from_env(), std::move(hooks));
      o.http = http_.get();
      listener_ = std::make_unique<ws_listener>(
          ioc_.get_executor(), o,
          [this](std::unique_ptr<message_transport> t, bool authenticated) {
            start_session(std::move(t), authenticated);
          });
      if (auto ec = listener_->listen()) {
        fatal(address_error(*cfg_.listen, "WebSocket", ec));
        return exit_startup_failure;
      }
      listener_->start();
      EXAI_LOG(info, "gateway",
               "listening (WebSocket: MCP subprotocol \"mcp\" and op clients; HTTP: /mcp, /sse)",
               {"address", listener_->local_endpoint()},
               {"auth", cfg_.client_token.empty() ? "none" : "token"});
    }
    if (cfg_.admin) {
      net::admin_handlers h;
      h.healthy = [this] { return !stopping_.load(std::memory_order_relaxed); };
      h.ready = [this]() -> std::pair<bool, std::string> {
        if (stopping_.load(std::memory_order_relaxed)) {
          return {false, R"({"ready":false,"reason":"shutting down"})"};
        }
        if (backend_->ready()) return {true, R"({"ready":true})"};
        return {false, R"({"ready":false,"reason":"no upstream daemon connection is ready"})"};
      };
      admin_ = std::make_unique<net::admin_server>(ioc_.get_executor(), h);
      if (auto ec = admin_->listen(cfg_.admin->host, cfg_.admin->port)) {
        if (cfg_.admin_explicit) {
          fatal(address_error(*cfg_.admin, "admin HTTP", ec));
          return exit_startup_failure;
        }
        // Not asked for: a busy default admin port must not stop the gateway.
        EXAI_LOG(warn, "gateway", "admin HTTP disabled: default port unavailable",
                 {"address", cfg_.admin->to_string()}, {"error", ec.message()});
        admin_.reset();
      } else {
        admin_->start();
        EXAI_LOG(info, "gateway", "admin HTTP listening", {"address", admin_->local_endpoint()});
      }
    }
    return exit_ok;
  }

  void start_stdio() {
    stdio_options o;
    o.max_line = cfg_.websocket.max_message_bytes;
    auto t = make_stdio_transport(ioc_.get_executor(), o);
    session_options so = session_options_for(true);
    so.eof_grace = cfg_.stdio_eof_grace;
    auto s = session::create(ioc_.get_executor(), *backend_, routes_, std::move(so));
    stdio_session_ = s.get();
    EXAI_LOG(info, "gateway", "serving MCP on stdio", {"session", s->id()});
    launch(std::move(s), std::move(t));
  }

  session_options session_options_for(bool authenticated) {
    session_options so;
    so.id = session_prefix_ + std::to_string(++session_counter_);
    so.max_inflight = cfg_.websocket.max_inflight_per_session;
    so.max_queued = cfg_.websocket.max_queued_per_session;
    so.limits.max_bytes = cfg_.websocket.max_message_bytes;
    so.max_reply_bytes = cfg_.websocket.max_message_bytes;
    so.max_session_bytes = cfg_.websocket.max_bytes_per_session;
    so.max_batch_elements = cfg_.websocket.max_batch_elements;
    so.authenticated = authenticated;
    return so;
  }

  void start_session(std::unique_ptr<message_transport> t, bool authenticated) {
    auto s = session::create(t->get_executor(), *backend_, routes_,
                             session_options_for(authenticated));
    launch(std::move(s), std::move(t));
  }

  void launch(std::shared_ptr<session> s, std::shared_ptr<message_transport> t) {
    session* key = s.get();
    sessions_.add(s->id(), s, clock::now());
    // The embedded tools' `status` counts the gateway's own sessions.
    if (embedded_) embedded_->host().session_opened();
    if (stopping_) s->shutdown(std::chrono::milliseconds(0));
    asio::co_spawn(ioc_, async_pump(std::move(t), s), [this, key, id = s->id()](std::exception_ptr) {
      const bool was_stdio = key == stdio_session_;
      sessions_.close(id);
      if (embedded_) embedded_->host().session_closed();
      if (was_stdio) {
        stdio_session_ = nullptr;
        // The client closed stdin (or stdout broke): the gateway's job is done.
        begin_shutdown("stdin closed");
      }
      if (stopping_ && sessions_.empty()) all_sessions_done_.cancel();
    });
  }

  // An MCP-over-HTTP session: no stream of its own until requests arrive; the HTTP server ends it.
  std::shared_ptr<session> open_http_session() {
    auto s = session::create(ioc_.get_executor(), *backend_, routes_, session_options_for(true));
    sessions_.add(s->id(), s, clock::now());
    if (embedded_) embedded_->host().session_opened();
    if (stopping_) s->shutdown(std::chrono::milliseconds(0));
    return s;
  }

  void end_http_session(std::shared_ptr<session> s) {
    auto* raw = s.get();
    asio::co_spawn(ioc_, raw->async_end(loss_policy::cancel),
                   [this, s = std::move(s)](std::exception_ptr) {
                     sessions_.close(s->id());
                     if (embedded_) embedded_->host().session_closed();
                     if (stopping_ && sessions_.empty()) all_sessions_done_.cancel();
                   });
  }

  void wait_for_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (stopping_) {
        // A second signal: the operator wants out now.
        fatal("second signal: exiting at once");
        std::_Exit(128 + sig);
      }
      begin_shutdown(sig == SIGINT ? "SIGINT" : "SIGTERM");
      wait_for_signal();
    });
  }

  void begin_shutdown(const char* why) {
    if (stopping_) return;
    stopping_ = true;
    EXAI_LOG(info, "gateway", "shutting down", {"reason", why},
             {"grace_ms", static_cast<std::int64_t>(cfg_.shutdown_grace.count())},
             {"sessions", sessions_.size()});
    if (listener_) listener_->stop();
    if (http_) http_->stop();
    for (auto& s : sessions_.all()) s->shutdown(cfg_.shutdown_grace);
    asio::co_spawn(ioc_, finish(), asio::detached);
  }

  asio::awaitable<void> finish() {
    // Sessions answer their calls within the grace (then cancel and answer the rest); the margin
    // covers cancellation and flushing replies.
    const auto deadline = clock::now() + cfg_.shutdown_grace + std::chrono::seconds(5);
    std::vector<std::shared_ptr<session>> open = sessions_.all();
    for (auto& s : open) co_await s->async_wait_drained(deadline);
    open.clear();
    // Then a moment for close handshakes, so well-behaved peers see a clean close.
    if (!sessions_.empty()) {
      all_sessions_done_.expires_at(std::min(deadline, clock::now() + std::chrono::seconds(1)));
      boost::system::error_code ec;
      co_await all_sessions_done_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (!sessions_.empty()) {
      EXAI_LOG(info, "gateway", "closing connections whose peers did not finish the close",
               {"sessions", sessions_.size()});
    }
    stop_watching_tools_.emit(asio::cancellation_type::terminal);
    if (pool_) co_await pool_->async_stop();
    if (admin_) admin_->stop();
    EXAI_LOG(info, "gateway", "stopped");
    exit_code_ = exit_ok;
    ioc_.stop();
  }

  static std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
    return out;
  }

  const gateway_config& cfg_;
  asio::io_context ioc_{1};
  asio::signal_set signals_;
  asio::steady_timer all_sessions_done_{ioc_};
  asio::cancellation_signal stop_watching_tools_;
  routes::route_options routes_;
  std::unique_ptr<routes::tool_backend> backend_;
  pool::daemon_pool* pool_ = nullptr;
  std::unique_ptr<http::server> http_;  // before listener_: the listener refers to it
  std::unique_ptr<ws_listener> listener_;
  std::unique_ptr<net::admin_server> admin_;
  session_registry sessions_;  // by session id; WebSocket and stdio sessions end with their stream
  embedded_backend* embedded_ = nullptr;  // set when the backend is the embedded tool host
  session* stdio_session_ = nullptr;
  std::string session_prefix_;
  std::uint64_t session_counter_ = 0;
  std::atomic<bool> stopping_{false};
  int exit_code_ = exit_ok;
};

}  // namespace

int run_gateway(const gateway_config& config) {
  // A client that goes away mid-write must be an EPIPE for the session, not a dead process.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    obs::init(config.log);
  } catch (const std::exception& e) {
    // An unwritable --log-file is a startup failure with a message, not an abort.
    std::fprintf(stderr, "exai-gateway: %s\n", e.what());
    return exit_startup_failure;
  }
  // Deliberately never destroyed: the process exits right after, and tearing down an io_context
  // whose leftover coroutine frames (after a grace period ran out) still point into the backend
  // would only add ways to crash on the way out.
  auto* a = new app(config);
  return a->run();
}

const char* gateway_version() noexcept { return EXAI_GATEWAY_VERSION; }

}  // namespace exai::gateway
