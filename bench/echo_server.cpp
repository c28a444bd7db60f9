// The echo server behind the `raw` scenario: accept, then read a frame and write it back, one
// coroutine per connection on one io_context, like the single-threaded server that
// toolchain-and-peers.md measured (~115k round-trips/s on one core).
#include "bench/echo_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>

namespace exai::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

asio::awaitable<void> echo_session(tcp::socket sock) {
  sock.set_option(tcp::no_delay(true));
  websocket::stream<tcp::socket> ws(std::move(sock));
  ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
  ws.read_message_max(256u * 1024 * 1024);
  ws.auto_fragment(false);
  boost::system::error_code ec;
  co_await ws.async_accept(asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  beast::flat_buffer buf;
  for (;;) {
    co_await ws.async_read(buf, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    ws.text(ws.got_text());
    co_await ws.async_write(buf.data(), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    buf.consume(buf.size());
  }
}

asio::awaitable<void> accept_loop(tcp::acceptor& acc) {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket s = co_await acc.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !acc.is_open()) co_return;
    if (ec) continue;  // e.g. EMFILE: keep serving the connections we have
    asio::co_spawn(acc.get_executor(), echo_session(std::move(s)), asio::detached);
  }
}

}  // namespace

int run_echo_server(const options& opts) {
  auto colon = opts.listen.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "exai-bench: --listen expects HOST:PORT\n";
    return 2;
  }
  asio::io_context ioc(1);
  tcp::acceptor acc(ioc);
  try {
    tcp::endpoint ep(asio::ip::make_address(opts.listen.substr(0, colon)),
                     static_cast<unsigned short>(std::stoul(opts.listen.substr(colon + 1))));
    acc.open(ep.protocol());
    acc.set_option(tcp::acceptor::reuse_address(true));
    acc.bind(ep);
    acc.listen(asio::socket_base::max_listen_connections);
  } catch (const std::exception& e) {
    std::cerr << "exai-bench: cannot listen on " << opts.listen << ": " << e.what() << "\n";
    return 1;
  }
  auto local = acc.local_endpoint();
  std::string where = local.address().to_string() + ":" + std::to_string(local.port());
  if (!opts.ready_file.empty()) {
    // Written whole, then renamed, so a reader never sees half a file.
    std::string tmp = opts.ready_file + ".tmp";
    std::ofstream(tmp) << "{\"ws\":\"" << where << "\"}\n";
    std::rename(tmp.c_str(), opts.ready_file.c_str());
  }
  std::cerr << "exai-bench: echo server on ws://" << where << "\n";

  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  asio::steady_timer limit(ioc);
  auto stop = [&] {
    boost::system::error_code ec;
    acc.close(ec);
    ioc.stop();
  };
  signals.async_wait([&](auto, int) { stop(); });
  if (opts.duration_set && opts.duration_s > 0) {
    limit.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(opts.duration_s)));
    limit.async_wait([&](boost::system::error_code ec) {
      if (!ec) stop();
    });
  }
  asio::co_spawn(ioc, accept_loop(acc), asio::detached);
  ioc.run();
  return 0;
}

}  // namespace exai::bench
