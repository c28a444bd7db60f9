// An in-memory stand-in for the daemon side of the pool's WebSocket connections (component
// tests, house-style 15): the pool's connections get memory transports from this factory, and the
// test body plays the daemon message by message. No sockets; timers only.
#pragma once

#include "gateway/pool/upstream_transport.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>

namespace exai::gateway::pool::ctest {

namespace asio = boost::asio;
namespace json = boost::json;
using ms = std::chrono::milliseconds;

// Both directions of one connection.
struct memory_link {
  explicit memory_link(asio::any_io_executor ex) : to_daemon_wake(ex), to_pool_wake(ex) {}
  std::deque<std::string> to_daemon, to_pool;
  asio::steady_timer to_daemon_wake, to_pool_wake;
  bool closed = false;
  std::optional<std::uint16_t> close_code;  // set when the daemon side closed with a code

  void close(std::optional<std::uint16_t> code = std::nullopt) {
    closed = true;
    close_code = code;
    to_daemon_wake.cancel();
    to_pool_wake.cancel();
  }
};
using link_ptr = std::shared_ptr<memory_link>;

class memory_daemon {
 public:
  explicit memory_daemon(asio::any_io_executor ex) : ex_(ex), accept_wake_(ex) {}

  // Give this to daemon_pool's constructor.
  transport_factory factory();

  // A connection the pool opened (nullptr on timeout).
  asio::awaitable<link_ptr> accept(ms timeout = ms(2000));

  // The next message from the pool on `l`, parsed (nullopt on timeout or close).
  static asio::awaitable<std::optional<json::object>> recv(const link_ptr& l, ms timeout = ms(2000));
  static void send(const link_ptr& l, const json::value& v);

  // Accepts a connection and completes the handshake: hello -> hello_ack (multiplexed with
  // max_inflight when > 0, else the reference ack), list_tools -> `tools` (echo by default).
  // Returns the link and the hello it received.
  struct session {
    link_ptr link;
    json::object hello;
  };
  // answer_list=false: the pool already has its list (it fetches it on one connection only).
  asio::awaitable<std::optional<session>> accept_ready(std::uint32_t max_inflight, bool answer_list = true,
                                                       ms timeout = ms(2000));

  std::size_t attempts() const { return attempts_; }  // transports created (connect attempts)
  bool refuse = false;                                // async_connect fails while true

 private:
  friend class memory_transport;
  asio::any_io_executor ex_;
  std::deque<link_ptr> pending_;
  asio::steady_timer accept_wake_;
  std::size_t attempts_ = 0;
};

json::object echo_tool_list();

}  // namespace exai::gateway::pool::ctest
