// exai-daemon: the op-protocol tool daemon (issue 3). Reads the configuration, serves the tool host
// over WebSocket (and /health, /metrics over HTTP when --admin is given), writes the ready file,
// and shuts down gracefully on SIGTERM/SIGINT.
#include "codecs/pretty_json.hpp"
#include "daemon/config.hpp"
#include "daemon/models/services.hpp"
#include "daemon/tool_host.hpp"
#include "daemon/ws_server.hpp"
#include "net/admin_http.hpp"
#include "net/io_runtime.hpp"
#include "observability/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace exai;
using namespace exai::daemon;

// Written to a temporary name and renamed, so a reader never sees a partial file.
bool write_ready_file(const std::string& path, const json::object& doc, std::string& why) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << json::serialize(doc) << "\n";
    out.flush();
    if (!out) {
      why = "cannot write " + tmp;
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    why = "cannot rename " + tmp + " to " + path;
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

asio::awaitable<void> shutdown(ws_server& server, net::admin_server* admin, asio::io_context& ioc,
                               std::chrono::milliseconds grace) {
  co_await server.async_shutdown(grace);
  if (admin) admin->stop();
  EXAI_LOG(info, "daemon", "stopped");
  ioc.stop();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto cli = parse_command_line(args, [](const char* name) -> const char* { return std::getenv(name); });
  if (!cli) {
    std::cerr << "exai-daemon: " << cli.error().message << "\n";
    return 2;
  }
  if (cli->what == cli_result::action::help) {
    std::cout << usage_text();
    return 0;
  }
  if (cli->what == cli_result::action::version) {
    std::cout << "exai-daemon " << daemon_version() << "\n";
    return 0;
  }
  if (cli->what == cli_result::action::print_config) {
    std::cout << codecs::pretty_json(to_json(cli->config)) << "\n";
    return 0;
  }
  const daemon_config& cfg = cli->config;

  obs::log_options lo;
  lo.min_level = obs::parse_level(cfg.log_level).value_or(obs::level::info);
  obs::init(lo);
  std::signal(SIGPIPE, SIG_IGN);

  if (cfg.token.empty())
    EXAI_LOG(warn, "daemon", "EXAI_WS_TOKEN is empty: clients are NOT authenticated");

  net::io_runtime ioc(1);
  std::unique_ptr<tool_host> host;
  try {
    tool_host::options ho;
    ho.profiles = cfg.tools;
    // Provider keys, URLs and EXAI_ALLOWED_ROOTS come from the environment only.
    ho.models = models::services_from_environment(ioc.get_executor());
    ho.filter = profiles::tool_filter::from_environment();
    host = std::make_unique<tool_host>(ho);
  } catch (const std::exception& e) {
    std::cerr << "exai-daemon: " << e.what() << "\n";
    return 2;
  }

  auto hp = split_host_port(cfg.listen);
  if (!hp) {
    std::cerr << "exai-daemon: --listen: " << hp.error().message << "\n";
    return 2;
  }
  ws_server server(ioc.get_executor(), *host, make_server_settings(cfg));
  if (auto ec = server.listen(hp->first, hp->second)) {
    EXAI_LOG(error, "daemon", "cannot listen", {"address", cfg.listen}, {"reason", ec.message()});
    std::cerr << "exai-daemon: cannot listen on " << cfg.listen << " (port " << hp->second
              << "): " << ec.message() << "\n";
    return 1;
  }

  std::atomic<bool> shutting_down{false};
  std::unique_ptr<net::admin_server> admin;
  if (!cfg.admin.empty()) {
    auto ap = split_host_port(cfg.admin);
    net::admin_handlers handlers;
    handlers.healthy = [] { return true; };
    // Not ready once shutdown began: a load balancer stops sending new connections.
    handlers.ready = [&shutting_down] {
      const bool ok = !shutting_down.load();
      return std::pair<bool, std::string>(ok, ok ? "{}" : R"({"reason":"shutting down"})");
    };
    admin = std::make_unique<net::admin_server>(ioc.get_executor(), handlers);
    if (auto ec = admin->listen(ap->first, ap->second)) {
      std::cerr << "exai-daemon: cannot serve admin HTTP on " << cfg.admin << " (port " << ap->second
                << "): " << ec.message() << "\n";
      return 1;
    }
    admin->start();
  }
  server.start();

  const std::string ws_ep = server.local_endpoint();
  if (!cfg.ready_file.empty()) {
    json::object doc;
    doc["ws"] = ws_ep;
    if (admin) doc["admin"] = admin->local_endpoint();
    std::string why;
    if (!write_ready_file(cfg.ready_file, doc, why)) {
      std::cerr << "exai-daemon: --ready-file: " << why << "\n";
      return 1;
    }
  }
  std::string tools;
  for (const auto& t : cfg.tools) tools += (tools.empty() ? "" : ",") + t;
  EXAI_LOG(info, "daemon", "listening", {"ws", ws_ep}, {"admin", admin ? admin->local_endpoint() : std::string()},
           {"tools", tools}, {"compat", cfg.compat_reference ? "reference" : "none"},
           {"auth", !cfg.token.empty()}, {"version", daemon_version()});

  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  bool stopping = false;
  std::function<void(const boost::system::error_code&, int)> on_signal;
  on_signal = [&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (stopping) {  // a second signal: stop at once
      EXAI_LOG(warn, "daemon", "second signal: exiting now", {"signal", sig});
      ioc.stop();
      return;
    }
    stopping = true;
    shutting_down = true;
    EXAI_LOG(info, "daemon", "signal received: shutting down", {"signal", sig});
    asio::co_spawn(ioc, shutdown(server, admin.get(), ioc, cfg.timeouts.shutdown_grace), asio::detached);
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);

  ioc.run();
  ioc.discard_pending();  // while the host and the server that queued work still exist
  return 0;
}
