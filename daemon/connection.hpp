// One client connection's op-protocol logic, independent of the transport: it takes inbound text
// messages, runs calls on the tool host, and queues outbound frames for the single writer
// (house-style 5). ws_server.cpp feeds it from a Beast WebSocket; component tests feed it directly.
// Asio only (no Beast).
#pragma once

#include "daemon/session.hpp"
#include "daemon/tool_host.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace exai::daemon {

struct connection_settings {
  session_settings session;
  std::chrono::milliseconds hello_timeout{15'000};
  std::chrono::milliseconds call_timeout{300'000};      // 0 = none
  std::chrono::milliseconds progress_interval{5'000};   // text heartbeat without `progress`; 0 = off
  // Reads pause above this. It also bounds what CPU-bound calls (tool_spec::cpu_handler) may
  // build ahead of the writer: the next such call starts only while the unsent bytes are under
  // it, and at most as many run at once as the host has CPU workers, so a peer that does not
  // read makes the daemon hold about this much plus a few results, not every result it asked for.
  std::size_t max_queued_bytes = 64u * 1024 * 1024;
};

// One item for the writer: a text frame, or a close (written after everything queued before it).
struct outgoing {
  std::string text;
  std::optional<close_code> close;
  std::string reason;
  // Set on a call's result: a `cancel` for that call that arrives while the result still waits
  // here removes it (no call_tool_res after `cancelled`).
  std::string result_of;
};

// `host` must outlive the connection and every coroutine it spawned (destroy the io_context first).
class op_connection : public std::enable_shared_from_this<op_connection> {
 public:
  op_connection(boost::asio::any_io_executor ex, tool_host& host, const connection_settings& s,
                std::string peer, std::string generated_session_id);
  ~op_connection();
  op_connection(const op_connection&) = delete;
  op_connection& operator=(const op_connection&) = delete;

  // Arms the hello timer (close 4002 when no hello arrives in time).
  void start();

  // Reader side: one inbound text message. Completes at once, except that it suspends while the
  // connection is over a limit (serial queue full, too many unsent reply bytes): back-pressure.
  boost::asio::awaitable<void> async_deliver(std::string text);

  // Writer side: the next item to write, or nullopt once the connection is finished.
  boost::asio::awaitable<std::optional<outgoing>> async_next_outgoing();
  // The next item if one is queued already, without waiting: the writer drains what queued up
  // while it was writing, to send it as one batch (issue 7).
  std::optional<outgoing> try_next_outgoing();

  // The transport is gone (read failed or the peer closed): running calls are cancelled and
  // nothing more is queued. Idempotent.
  void on_transport_closed();

  // Shutdown (SIGTERM): refuse new calls; later cancel_calls() stops the ones still running
  // (each gets a SERVICE_UNAVAILABLE error), and close() queues the close frame.
  void begin_shutdown();
  void cancel_calls();
  void close(close_code code, std::string reason);

  std::size_t calls_in_flight() const noexcept { return calls_.size(); }
  bool finished() const noexcept { return finished_; }
  const session& state() const noexcept { return session_; }
  const std::string& peer() const noexcept { return peer_; }

 private:
  struct call_state;
  struct heartbeat_state;

  void handshake(std::string_view text);
  void dispatch(request r);
  void handle_cancel(const std::string& request_id);
  void answer_now(request& r);  // list_tools, ping, replies, cancel acks
  void start_call(req::call c); // multiplexed: admission, then a detached coroutine
  boost::asio::awaitable<void> serial_loop(std::shared_ptr<op_connection> self);
  void spawn_call(req::call c, std::shared_ptr<call_state> st);
  static boost::asio::awaitable<void> execute(std::shared_ptr<op_connection> self, req::call c,
                                              std::shared_ptr<call_state> st);
  static boost::asio::awaitable<void> heartbeat(std::shared_ptr<op_connection> self,
                                                std::shared_ptr<heartbeat_state> hb, std::string request_id);
  static boost::asio::awaitable<void> hello_watch(std::shared_ptr<op_connection> self);
  // `frames` answer a call that has a result (r holds it moved-from); errors are encoded here.
  void finish_call(const std::string& request_id, const std::shared_ptr<call_state>& st,
                   const codecs::result<codecs::tool_result>& r, std::vector<std::string> frames);

  void push(const boost::json::object& msg);
  void push_text(std::string text, std::string result_of = {});  // one serialised message
  bool drop_queued_result(std::string_view request_id);
  void on_outbox_shrunk();
  void notify_writer();
  void notify_reader();
  bool over_limits() const;
  // The CPU-call gate (see connection_settings::max_queued_bytes). errc::cancelled or
  // errc::timeout when the call is stopped or its deadline passes while it waits.
  bool cpu_gate_open() const;
  boost::asio::awaitable<codecs::result<void>> async_enter_cpu_gate(
      std::chrono::steady_clock::time_point deadline);
  void leave_cpu_gate();
  void wake_cpu_gate();

  boost::asio::any_io_executor ex_;
  tool_host& host_;
  connection_settings settings_;
  std::string peer_;
  session session_;

  std::deque<outgoing> outbox_;
  std::size_t queued_bytes_ = 0;
  boost::asio::steady_timer writer_wake_;
  boost::asio::steady_timer reader_wake_;
  boost::asio::steady_timer hello_timer_;
  boost::asio::steady_timer serial_wake_;

  std::size_t cpu_calls_ = 0;                           // CPU-bound calls past the gate, not yet queued
  std::vector<boost::asio::steady_timer*> cpu_waiters_; // calls waiting at the gate

  std::deque<request> serial_queue_;   // serial mode: requests waiting for the one in progress
  std::map<std::string, std::shared_ptr<call_state>, std::less<>> calls_;  // running calls
  bool closing_ = false;               // a close is queued: nothing more is sent
  bool finished_ = false;              // transport gone
  bool session_counted_ = false;       // host_.session_opened() was called
};

}  // namespace exai::daemon
