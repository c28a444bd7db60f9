// Internals of the daemon pool, shared by connection.cpp (run: connect, hello, reader || writer,
// loss, backoff) and daemon_pool.cpp (call: admission, FIFO, dispatch, deadline, tool list).
// No Beast here: the socket is behind upstream_transport.
#pragma once

#include "net/backoff.hpp"
#include "gateway/pool/correlation.hpp"
#include "gateway/pool/daemon_pool.hpp"
#include "gateway/pool/ids.hpp"
#include "gateway/pool/policy.hpp"
#include "observability/metrics.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace exai::gateway::pool::detail {

using net::backoff_policy;  // reconnect delays (net/backoff.hpp, shared with the model providers)

using clock = std::chrono::steady_clock;

// queued -> sent -> done | abandoned (house-style 7). `queued` means in the pool's FIFO.
enum class call_phase : std::uint8_t { queued, sent, done, abandoned };
enum class request_kind : std::uint8_t { call, list_tools };

class upstream_connection;

// One request on its way: owned by the awaiting caller and by the table / FIFO holding it.
struct call_state {
  explicit call_state(boost::asio::any_io_executor ex) : wake(std::move(ex)) {}

  request_kind kind = request_kind::call;
  std::string id;                 // fresh UUID, never reused (hazard 2)
  std::string frame;              // the encoded request, moved to the writer when sent
  std::string tool;
  routes::progress_sink progress;
  clock::time_point deadline = clock::time_point::max();
  clock::time_point submitted{};  // when async_call admitted it (the unreachable wait)
  // Expires at the deadline; cancelled to wake the caller when `outcome` is set.
  boost::asio::steady_timer wake;
  call_phase phase = call_phase::queued;
  std::optional<codecs::result<codecs::tool_result>> outcome;
  upstream_connection* conn = nullptr;
  std::string conn_name;          // the connection that answered or held it, for the call's log
};
using call_ptr = std::shared_ptr<call_state>;

enum class conn_state : std::uint8_t { idle, connecting, ready, backoff, retired, stopped };

class pool_impl;

class upstream_connection {
 public:
  upstream_connection(pool_impl& pool, std::size_t endpoint_index, std::string name);

  // Owned by the pool (spawned in start / serial growth): connect, hello, session, loss, backoff,
  // again, until stopped or retired.
  boost::asio::awaitable<void> run();

  // Used by the pool on its executor; none of them touches the socket.
  bool ready() const { return state_ == conn_state::ready && !closing_; }
  std::size_t load() const { return table_.size(); }
  std::size_t capacity() const { return mode_.max_inflight; }
  conn_mode mode() const { return mode_.mode; }
  conn_state state() const { return state_; }
  std::size_t endpoint_index() const { return endpoint_; }
  const std::string& name() const { return name_; }
  bool running() const { return running_; }
  // Connected at the daemon (upgrade done, from hello until the attempt ends): what the daemon
  // counts against its per-address limit.
  bool connected() const { return connected_; }
  void set_running(bool r) { running_ = r; }

  void send(const call_ptr& c);     // into the table (sent) and the writer queue
  void abandon(const call_ptr& c);  // the caller left: keep the entry, tell the daemon if we can
  void stop();                      // pool shutdown: close, wake everything, do not reconnect
  void retire();                    // leave the pool after the current attempt
  void drop();                      // its daemon is hung: end the session now, reconnect later

 private:
  enum class attempt_end : std::uint8_t { failed, refused_limit, session_ended, stopped };

  boost::asio::awaitable<attempt_end> async_attempt();
  boost::asio::awaitable<void> async_session();
  boost::asio::awaitable<void> async_reader();
  boost::asio::awaitable<void> async_writer();
  boost::asio::awaitable<void> async_housekeeper();

  void on_message(std::string_view text);
  void deliver_final(const call_ptr& c, codecs::op::server_message& m);
  void fail_all(codecs::errc code, const char* message);
  void push_frame(std::string frame);
  void set_state(conn_state s);
  void update_busy() { if (transport_) transport_->set_busy(table_.size() > 0); }

  pool_impl& pool_;
  std::size_t endpoint_;
  std::string name_;
  std::unique_ptr<upstream_transport> transport_;
  conn_state state_ = conn_state::idle;
  mode_decision mode_{};
  correlation_table<call_ptr> table_;
  std::deque<std::string> outq_;
  boost::asio::steady_timer writer_wake_;
  boost::asio::steady_timer timer_;        // hello timeout, backoff
  boost::asio::steady_timer house_timer_;
  call_ptr list_request_;                  // the tool-list fetch on this connection, if any
  std::string session_id_;
  std::string loss_reason_;                // why the session ended, for its calls' errors
  bool stopping_ = false;
  bool retired_ = false;
  bool closing_ = false;                   // session ending: take no new calls
  bool running_ = false;
  bool connected_ = false;
};

struct endpoint_state {
  endpoint ep;
  bool serial = false;                     // an ack without capabilities was seen
  std::size_t cap = 10;                    // configured connection limit when serial
  // After a 1008 refusal the daemon's real limit (other clients share it) is what was open;
  // held for a while, then the configured cap is tried again.
  std::size_t refused_cap = 0;
  clock::time_point refused_until{};
  std::size_t effective_cap(clock::time_point now) const {
    return now < refused_until ? std::min(cap, refused_cap) : cap;
  }
  std::vector<std::size_t> conns;          // indices into pool_impl::conns_
};

class pool_impl : public std::enable_shared_from_this<pool_impl> {
 public:
  pool_impl(boost::asio::any_io_executor ex, pool_options opts, transport_factory factory);

  const boost::asio::any_io_executor& executor() const { return ex_; }
  const pool_options& options() const { return opts_; }

  void start();
  boost::asio::awaitable<void> async_stop();
  void stop_now();  // no waiting (destructor)
  // tool_backend::async_wait_tools_changed.
  boost::asio::awaitable<std::uint64_t> async_wait_tools_changed(std::uint64_t seen);

  boost::asio::awaitable<codecs::result<boost::json::array>> async_list_tools();
  boost::asio::awaitable<codecs::result<codecs::tool_result>> async_call(
      std::string name, boost::json::object arguments, routes::call_context ctx);
  bool ready() const;
  daemon_pool::stats snapshot() const;

  // ---- for connections (pool executor) -------------------------------------------------
  std::unique_ptr<upstream_transport> make_transport() { return factory_(ex_); }
  id_source& ids() { return ids_; }
  double jitter() { return std::uniform_real_distribution<double>(0.0, 1.0)(jitter_rng_); }
  const endpoint& endpoint_of(std::size_t i) const { return eps_[i].ep; }
  bool stopping() const { return stopping_; }

  void on_ready(upstream_connection& c);            // hello_ack ok
  void on_capacity();                               // a slot freed somewhere: drain the FIFO
  void on_down(upstream_connection& c, bool was_ready);
  // c was closed because the daemon stopped answering (hang_timeout): drop the address's other
  // connections too, so nothing more is sent to it until a fresh connection is acked.
  void on_hung(upstream_connection& c);
  refusal_decision on_refused(upstream_connection& c);  // 1008 before hello_ack
  void complete(const call_ptr& c, codecs::result<codecs::tool_result> outcome);
  void on_tool_list(upstream_connection& c, const codecs::op::server_message* m);  // null: failed
  void maybe_fetch_tools(upstream_connection& c);
  // The daemon's own message limit from its hello_ack (capabilities.max_message_bytes).
  void note_upstream_limit(std::uint64_t bytes) {
    upstream_max_ = static_cast<std::size_t>(std::min<std::uint64_t>(bytes, SIZE_MAX));
  }

  // Counters (atomics: snapshot() may run on another thread).
  void count_state(conn_state from, conn_state to);
  void count_reconnect();
  void count_late();
  void count_abandoned(std::int64_t d) { abandoned_.fetch_add(d, std::memory_order_relaxed); }
  void count_in_flight(std::int64_t d) { in_flight_.fetch_add(d, std::memory_order_relaxed); }
  void count_mode(conn_mode m, std::int64_t d);

 private:
  enum class submitted : std::uint8_t { sent, queued, rejected };
  submitted submit(const call_ptr& c);
  void abandon(const call_ptr& c);
  std::optional<std::size_t> pick();
  void drain();
  void grow_serial(std::size_t spare = 0);  // spare: connections wanted beyond queued calls
  void spawn(std::size_t conn_index);
  void fail_queued(codecs::errc code, const char* message);
  void set_queue_gauge();
  bool any_ready() const;
  // When a queued call stops waiting for a connection: its deadline, or earlier while no
  // connection is ready (unreachable_wait after it was queued or the last one was lost).
  clock::time_point wait_until(const call_state& c) const;

  boost::asio::any_io_executor ex_;
  pool_options opts_;
  transport_factory factory_;
  id_source ids_;
  std::mt19937_64 jitter_rng_;
  std::vector<endpoint_state> eps_;
  std::vector<std::unique_ptr<upstream_connection>> conns_;
  std::vector<conn_view> views_;  // scratch for pick()
  std::size_t rr_ = 0;

  std::deque<call_ptr> queue_;
  std::size_t queued_live_ = 0;

  clock::time_point no_ready_since_{};  // when the last ready connection went (start: start())
  std::vector<boost::asio::steady_timer*> list_waiters_;  // tools/list waiting for the first list
  std::size_t upstream_max_ = 0;   // largest call message the daemon reads (options, then acks)

  boost::json::array tools_;
  bool tools_loaded_ = false;
  bool tools_fetching_ = false;
  bool tools_stale_ = false;       // a ready connection was lost since the list was fetched
  std::uint64_t tools_generation_ = 0;   // grows at each change of the tool list
  boost::asio::steady_timer tools_changed_;  // never expires: cancel() wakes the waiters

  bool started_ = false;
  bool stopping_ = false;
  std::size_t running_ = 0;
  boost::asio::steady_timer all_stopped_;

  // Snapshot state.
  std::atomic<std::int64_t> n_connecting_{0}, n_ready_{0}, n_backoff_{0}, n_serial_{0}, n_mux_{0};
  std::atomic<std::int64_t> queued_{0}, in_flight_{0}, abandoned_{0};
  std::atomic<std::uint64_t> calls_{0}, reconnects_{0}, late_{0}, timeouts_{0}, cancelled_{0},
      rejected_{0}, lost_{0};
  std::atomic<bool> tools_loaded_flag_{false};
  std::atomic<std::size_t> tools_count_{0};

  // Metrics (exai::obs::names); looked up once.
  obs::gauge* m_connecting_;
  obs::gauge* m_ready_;
  obs::gauge* m_backoff_;
  obs::gauge* m_queue_;
  obs::counter* m_reconnects_;
  obs::counter* m_late_;

  friend class upstream_connection;
};

}  // namespace exai::gateway::pool::detail
