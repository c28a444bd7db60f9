// The load engine: connections each run one reader and one writer coroutine on a single
// io_context; the writer keeps --inflight requests outstanding, the reader checks each answer
// against the slot its id names and records the latency. Also the cancel and idle scenarios.
#include "bench/load.hpp"

#include "bench/histogram.hpp"
#include "bench/proc_stats.hpp"
#include "bench/syscall_count.hpp"
#include "bench/protocol.hpp"
#include "bench/transport.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>

#include <array>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <vector>

namespace exai::bench {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace asio::experimental::awaitable_operators;
using clock_type = std::chrono::steady_clock;

namespace {

enum class phase { connecting, warmup, measure, drain, done };

constexpr std::uint64_t status_id = std::uint64_t{1} << 52;  // below 2^53: exact in JS peers

clock_type::duration seconds_f(double s) {
  return std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(s));
}

double round_to(double v, int digits) {
  double m = std::pow(10.0, digits);
  return std::round(v * m) / m;
}

struct engine;

struct slot {
  std::uint64_t id = 0;
  clock_type::time_point sent{};
  bool busy = false;
  bool measured = false;
};

struct connection {
  connection(engine& e, unsigned index, unsigned inflight);

  asio::awaitable<void> async_setup();
  asio::awaitable<void> async_run_load();
  asio::awaitable<void> async_reader();
  asio::awaitable<void> async_writer();
  asio::awaitable<void> async_hold();
  asio::awaitable<void> async_cancel_reader();
  asio::awaitable<void> async_send_calls(std::uint64_t count);
  asio::awaitable<void> async_send_cancels();
  asio::awaitable<void> async_send_status();
  asio::awaitable<void> async_close();
  void mark_dead(bool count_error);

  engine& e_;
  unsigned index_;
  std::unique_ptr<message_transport> t_;
  std::vector<slot> slots_;
  std::vector<unsigned> free_;
  std::uint64_t seq_ = 1;
  unsigned inflight_ = 0;
  bool ready_ = false;
  bool dead_ = false;
  bool finished_ = false;
  bool multiplex_ = false;
  asio::steady_timer wake_;
  std::string wbuf_;
  // cancel mode: ids sent on this connection, and how many answers came back for them.
  std::uint64_t calls_sent_ = 0;
};

struct engine {
  engine(asio::io_context& ioc, const options& o, bench::dialect d)
      : ioc_(ioc), o_(o), codec_(d, o), main_wake_(ioc), stop_timer_(ioc) {
    if (auto t = parse_url(o.url)) {
      target_ = *t;
    } else if (auto h = parse_url(o.url, "http")) {
      // MCP Streamable HTTP: mcp-http, or idle/cancel against an http:// URL.
      target_ = *h;
      http_ = true;
    }
  }

  asio::awaitable<void> async_main_load();
  asio::awaitable<void> async_main_cancel();
  asio::awaitable<void> async_main_idle();
  // mcp-ws hostile clients beside the load (issue 14): they run until hostile_stop_, and their
  // transports are aborted once the measurement has sampled the target.
  void spawn_hostile(asio::any_io_executor ex);
  asio::awaitable<void> async_hostile_reader(unsigned i);
  asio::awaitable<void> async_batcher(unsigned i);
  void stop_hostile();
  void per_request_counters(const char* prefix, const proc_sample& before, const proc_sample& after,
                            std::optional<std::uint64_t> syscalls, std::uint64_t answered);

  asio::awaitable<bool> async_connect_all();
  asio::awaitable<void> async_connect_worker();
  // Waits until pred() holds or the deadline passes; woken by notify().
  template <class Pred>
  asio::awaitable<bool> async_wait_until(clock_type::time_point deadline, Pred pred);
  asio::awaitable<void> async_close_all();
  asio::awaitable<std::optional<double>> async_read_metric(std::string_view name);
  // The `status` tool's in-flight count, asked on connection c (its reader stores the reply).
  asio::awaitable<std::optional<std::int64_t>> async_query_status(connection& c);
  void notify() { main_wake_.cancel(); }
  void error(error_kind k, std::uint64_t n = 1) { errors_[static_cast<int>(k)] += n; }
  std::uint64_t total_errors() const {
    std::uint64_t n = 0;
    for (auto v : errors_) n += v;
    return n;
  }
  unsigned live() const {
    unsigned n = 0;
    for (const auto& c : conns_) n += (c->ready_ && !c->dead_) ? 1 : 0;
    return n;
  }
  std::uint64_t outstanding() const {
    std::uint64_t n = 0;
    for (const auto& c : conns_) n += c->dead_ ? 0 : c->inflight_;
    return n;
  }

  asio::io_context& ioc_;
  const options& o_;
  codec codec_;
  ws_target target_;
  bool http_ = false;  // the target is an http:// URL: connections are Streamable HTTP
  int child_pid_ = -1;
  phase ph_ = phase::connecting;
  asio::steady_timer main_wake_;
  asio::steady_timer stop_timer_;
  std::vector<std::unique_ptr<connection>> conns_;
  std::size_t next_connect_ = 0;
  unsigned ready_count_ = 0, finished_count_ = 0;

  histogram hist_;          // latency of measured answers (idle: of connect + initialize)
  std::uint64_t measured_ok_ = 0, in_window_ = 0, warm_ok_ = 0, notifications_ = 0;
  std::uint64_t budget_ = ~std::uint64_t{0};
  std::uint64_t outstanding_measured_ = 0;
  std::array<std::uint64_t, static_cast<int>(error_kind::count_)> errors_{};
  clock_type::time_point t_start_{}, t_end_{}, t_last_answer_{};
  bool all_multiplex_ = true;
  bool hard_stop_ = false;

  // cancel mode
  unsigned calls_done_ = 0, cancels_done_ = 0;
  bool cancels_sent_ = false;
  std::uint64_t answered_before_cancel_ = 0, answered_after_cancel_ = 0;
  std::optional<std::string> status_reply_;

  json::object extra_;      // mode-specific report fields

  // hostile clients
  std::vector<std::unique_ptr<message_transport>> hostile_;
  bool hostile_stop_ = false;
  std::uint64_t hostile_sent_ = 0, hostile_failures_ = 0, batches_answered_ = 0, batches_refused_ = 0;
};

connection::connection(engine& e, unsigned index, unsigned inflight)
    : e_(e), index_(index), slots_(inflight), wake_(e.ioc_, clock_type::time_point::max()) {
  free_.reserve(inflight);
  for (unsigned i = inflight; i-- > 0;) free_.push_back(i);
}

void connection::mark_dead(bool count_error) {
  if (dead_) return;
  dead_ = true;
  if (count_error && e_.ph_ < phase::done) {
    e_.error(error_kind::connection);
    std::uint64_t lost = 0, lost_measured = 0;
    for (auto& s : slots_)
      if (s.busy) {
        ++lost;
        if (s.measured) ++lost_measured;
        s.busy = false;
      }
    e_.error(error_kind::missing, lost);
    e_.outstanding_measured_ -= lost_measured;
    inflight_ = 0;
  }
  wake_.cancel();
  e_.notify();
}

asio::awaitable<void> connection::async_setup() {
  auto t0 = clock_type::now();
  try {
    if (e_.o_.mode == mode::mcp_stdio) {
      auto child = spawn_stdio(co_await asio::this_coro::executor, e_.o_.command, e_.o_.child_stderr);
      t_ = std::move(child.transport);
      e_.child_pid_ = child.pid;
    } else {
      const char* tok = std::getenv("EXAI_GATEWAY_TOKEN");
      std::string bearer = (e_.codec_.wire() == bench::dialect::mcp && tok) ? tok : "";
      if (e_.http_) {
        t_ = co_await async_connect_http(e_.target_, bearer, e_.o_.mode == mode::idle);
      } else {
        t_ = co_await async_connect_ws(e_.target_, e_.o_.subprotocol, bearer);
      }
    }
    std::string hello = e_.codec_.handshake_request(index_);
    if (!hello.empty()) {
      co_await t_->async_write(hello);
      std::string_view reply;
      for (;;) {
        reply = co_await t_->async_read();
        // Servers may send notifications before the reply (none expected; skip them).
        if (reply.find("\"method\"") == std::string_view::npos || reply.find("\"id\"") != std::string_view::npos)
          break;
      }
      std::string problem = e_.codec_.check_handshake_reply(reply, &multiplex_);
      if (!problem.empty()) throw std::runtime_error(problem);
      std::string follow = e_.codec_.handshake_followup();
      if (!follow.empty()) co_await t_->async_write(follow);
    }
    if (e_.codec_.wire() == bench::dialect::op && !multiplex_) e_.all_multiplex_ = false;
    ready_ = true;
    e_.hist_.record(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - t0).count()));
  } catch (const std::exception& ex) {
    if (e_.errors_[static_cast<int>(error_kind::connection)] == 0)
      std::cerr << "exai-bench: connection " << index_ << ": " << ex.what() << "\n";
    e_.error(error_kind::connection);
    dead_ = true;
    if (t_) t_->abort();
  }
  ++e_.ready_count_;
  e_.notify();
}

asio::awaitable<void> connection::async_run_load() {
  co_await (async_reader() && async_writer());
  co_await async_close();
}

asio::awaitable<void> connection::async_close() {
  if (t_) co_await t_->async_close();
  finished_ = true;
  ++e_.finished_count_;
  e_.notify();
}

asio::awaitable<void> connection::async_reader() {
  const unsigned k = static_cast<unsigned>(slots_.size());
  while (!dead_) {
    std::string_view msg;
    try {
      msg = co_await t_->async_read();
    } catch (const std::exception&) {
      mark_dead(e_.ph_ < phase::done);
      break;
    }
    // A failed write already declared this connection dead and its calls missing; answers still
    // buffered behind it are not counted a second time.
    if (dead_) break;
    auto now = clock_type::now();
    verdict v = e_.codec_.check(index_, msg);
    if (v.kind == verdict::ignore) {
      ++e_.notifications_;
      continue;
    }
    if (!v.has_id) {
      e_.error(v.error);
      continue;
    }
    slot& s = slots_[v.id % k];
    if (!s.busy || s.id != v.id) {
      e_.error(error_kind::unknown_id);
      continue;
    }
    s.busy = false;
    free_.push_back(static_cast<unsigned>(v.id % k));
    --inflight_;
    if (s.measured) --e_.outstanding_measured_;
    if (v.kind == verdict::failure) {
      e_.error(v.error);
    } else {
      // Throughput counts every correct answer received inside the window (including answers to
      // calls sent during the warm-up); latency only calls sent inside it.
      if (e_.ph_ == phase::measure) ++e_.in_window_;
      if (s.measured) {
        e_.hist_.record(static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(now - s.sent).count()));
        ++e_.measured_ok_;
        e_.t_last_answer_ = now;
      } else {
        ++e_.warm_ok_;
      }
    }
    if (e_.ph_ >= phase::drain || (s.measured && e_.outstanding_measured_ == 0 && e_.budget_ == 0))
      e_.notify();
    wake_.cancel();
  }
  wake_.cancel();
}

asio::awaitable<void> connection::async_writer() {
  const unsigned k = static_cast<unsigned>(slots_.size());
  for (;;) {
    while (!dead_ && inflight_ < k &&
           (e_.ph_ == phase::warmup || (e_.ph_ == phase::measure && e_.budget_ > 0))) {
      unsigned si = free_.back();
      free_.pop_back();
      slot& s = slots_[si];
      s.id = seq_++ * k + si;
      s.busy = true;
      s.measured = e_.ph_ == phase::measure;
      if (s.measured) {
        ++e_.outstanding_measured_;
        --e_.budget_;
      }
      ++inflight_;
      e_.codec_.encode_call(index_, s.id, wbuf_);
      s.sent = clock_type::now();
      try {
        co_await t_->async_write(wbuf_);
      } catch (const std::exception&) {
        mark_dead(e_.ph_ < phase::done);
        co_return;
      }
    }
    if (dead_ || e_.ph_ >= phase::drain) co_return;
    boost::system::error_code ec;
    wake_.expires_at(clock_type::time_point::max());
    co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

template <class Pred>
asio::awaitable<bool> engine::async_wait_until(clock_type::time_point deadline, Pred pred) {
  while (!pred()) {
    if (clock_type::now() >= deadline) co_return false;
    main_wake_.expires_at(deadline);
    boost::system::error_code ec;
    co_await main_wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return true;
}

asio::awaitable<void> engine::async_connect_worker() {
  while (next_connect_ < conns_.size()) {
    auto& c = conns_[next_connect_++];
    co_await c->async_setup();
  }
}

asio::awaitable<bool> engine::async_connect_all() {
  unsigned n = o_.mode == mode::mcp_stdio ? 1 : o_.connections;
  unsigned k = o_.mode == mode::idle || o_.mode == mode::cancel ? 1 : o_.inflight;
  for (unsigned i = 0; i < n; ++i) conns_.push_back(std::make_unique<connection>(*this, i, k));
  auto ex = co_await asio::this_coro::executor;
  unsigned workers = std::min<unsigned>(o_.connect_concurrency, n);
  for (unsigned i = 0; i < workers; ++i) asio::co_spawn(ex, async_connect_worker(), asio::detached);
  // 60 s covers 1000 sessions on a loaded machine; a refused connection fails at once.
  co_return co_await async_wait_until(clock_type::now() + std::chrono::seconds(60),
                                      [this] { return ready_count_ == conns_.size(); });
}

asio::awaitable<void> engine::async_close_all() {
  ph_ = phase::done;
  auto ex = co_await asio::this_coro::executor;
  unsigned expected = 0;
  for (auto& c : conns_) {
    c->wake_.cancel();
    if (c->ready_) ++expected;
  }
  // Connections whose loops already ended have closed themselves; ask the rest politely (a
  // pending read then ends with the close handshake), then abort what is still open.
  for (auto& c : conns_)
    if (c->ready_ && !c->finished_ && c->t_) asio::co_spawn(ex, c->t_->async_close(), asio::detached);
  auto done = [&] { return finished_count_ >= expected; };
  if (!co_await async_wait_until(clock_type::now() + std::chrono::seconds(6), done)) {
    for (auto& c : conns_)
      if (c->t_ && !c->finished_) c->t_->abort();
    if (!co_await async_wait_until(clock_type::now() + std::chrono::seconds(3), done)) hard_stop_ = true;
  }
  if (child_pid_ > 0) {
    int code = co_await async_reap(child_pid_, std::chrono::seconds(5));
    extra_["child_exit_code"] = code;
  }
}

asio::awaitable<std::optional<double>> engine::async_read_metric(std::string_view name) {
  if (o_.metrics_url.empty()) co_return std::nullopt;
  auto body = co_await async_http_get(o_.metrics_url, std::chrono::seconds(3));
  if (!body) co_return std::nullopt;
  co_return prometheus_value(*body, name);
}

asio::awaitable<std::optional<std::int64_t>> engine::async_query_status(connection& c) {
  status_reply_.reset();
  co_await c.async_send_status();
  co_await async_wait_until(clock_type::now() + std::chrono::seconds(3),
                            [&] { return status_reply_.has_value() || c.dead_; });
  if (!status_reply_) co_return std::nullopt;
  co_return status_in_flight(*status_reply_);
}

// ---- load modes (mcp-ws, mcp-stdio, op, raw) ----

asio::awaitable<void> engine::async_main_load() {
  auto ex = co_await asio::this_coro::executor;
  co_await async_connect_all();
  if (live() == 0) {
    co_await async_close_all();
    co_return;
  }
  hist_.clear();  // it held the handshake times
  spawn_hostile(ex);
  int pid = o_.target_pid > 0 ? o_.target_pid : child_pid_;
  if (o_.requests > 0) budget_ = o_.requests;
  auto spawn_loads = [&] {
    for (auto& c : conns_)
      if (c->ready_ && !c->dead_) asio::co_spawn(ex, c->async_run_load(), asio::detached);
  };
  if (o_.warmup_s > 0) {
    ph_ = phase::warmup;
    spawn_loads();
    co_await async_wait_until(clock_type::now() + seconds_f(o_.warmup_s), [this] { return live() == 0; });
  }
  syscall_counter syscalls, peer_syscalls;
  const bool counting = syscalls.start(pid);
  const bool peer_counting = peer_syscalls.start(o_.peer_pid);
  auto before = sample_process(pid);
  auto peer_before = sample_process(o_.peer_pid);
  double self_before = self_cpu_seconds();
  ph_ = phase::measure;
  t_start_ = clock_type::now();
  if (o_.warmup_s > 0) {
    for (auto& c : conns_) c->wake_.cancel();
  } else {
    spawn_loads();
  }
  if (o_.requests > 0) {
    // Bounded: a request count that the target cannot serve within 10 minutes is a failure.
    co_await async_wait_until(t_start_ + std::chrono::minutes(10), [this] {
      return (budget_ == 0 && outstanding_measured_ == 0) || live() == 0;
    });
    t_end_ = measured_ok_ ? t_last_answer_ : clock_type::now();
  } else {
    co_await async_wait_until(t_start_ + seconds_f(o_.duration_s), [this] { return live() == 0; });
    t_end_ = clock_type::now();
  }
  auto after = sample_process(pid);
  auto peer_after = sample_process(o_.peer_pid);
  double self_after = self_cpu_seconds();
  const auto syscall_count = counting ? syscalls.stop() : std::nullopt;
  const auto peer_syscall_count = peer_counting ? peer_syscalls.stop() : std::nullopt;
  ph_ = phase::drain;
  for (auto& c : conns_) c->wake_.cancel();
  co_await async_wait_until(clock_type::now() + seconds_f(o_.drain_s), [this] { return outstanding() == 0; });
  error(error_kind::missing, outstanding());
  for (auto& c : conns_)
    if (!c->dead_) c->inflight_ = 0;
  auto final_sample = sample_process(pid);
  stop_hostile();
  co_await async_close_all();

  double window = std::chrono::duration<double>(t_end_ - t_start_).count();
  std::uint64_t answered = o_.requests > 0 ? measured_ok_ : in_window_;
  extra_["duration_s"] = round_to(window, 3);
  extra_["throughput_per_s"] = window > 0 ? round_to(answered / window, 1) : 0.0;
  extra_["warmup_answers"] = warm_ok_;
  extra_["notifications"] = notifications_;
  extra_["bench_cpu_s"] = round_to(self_after - self_before, 3);
  // Answers confirmed by the learned answer shape instead of a parse (protocol.hpp).
  if (codec_.wire() == bench::dialect::mcp) extra_["answers_by_shape"] = codec_.shape_matches();
  if (codec_.wire() == bench::dialect::op) extra_["multiplex_granted"] = all_multiplex_;
  if (pid > 0) {
    extra_["target_pid"] = pid;
    if (before && after) {
      extra_["cpu_s"] = round_to(after->cpu_s - before->cpu_s, 3);
      if (answered > 0) {
        extra_["cpu_us_per_request"] = round_to((after->cpu_s - before->cpu_s) * 1e6 / answered, 2);
        per_request_counters("", *before, *after, syscall_count, answered);
      }
    }
    auto last = final_sample ? final_sample : after;
    if (last) {
      extra_["rss_peak_kb"] = last->rss_peak_kb;
      extra_["rss_kb"] = last->rss_kb;
    }
  }
  if (o_.peer_pid > 0 && peer_before && peer_after) {
    extra_["peer_pid"] = o_.peer_pid;
    extra_["peer_cpu_s"] = round_to(peer_after->cpu_s - peer_before->cpu_s, 3);
    extra_["peer_rss_peak_kb"] = peer_after->rss_peak_kb;
    if (answered > 0) {
      extra_["peer_cpu_us_per_request"] =
          round_to((peer_after->cpu_s - peer_before->cpu_s) * 1e6 / answered, 2);
      per_request_counters("peer_", *peer_before, *peer_after, peer_syscall_count, answered);
    }
  }
}

// What one answered call cost a process besides CPU time: context switches (voluntary: it
// blocked, usually in epoll_wait; involuntary: it was preempted), system calls and minor page
// faults, so that a change in CPU per call comes with its explanation.
void engine::per_request_counters(const char* prefix, const proc_sample& before, const proc_sample& after,
                                  std::optional<std::uint64_t> syscalls, std::uint64_t answered) {
  const auto per = [answered](std::uint64_t a, std::uint64_t b) {
    return round_to(static_cast<double>(b >= a ? b - a : 0) / static_cast<double>(answered), 3);
  };
  const std::string p = prefix;
  extra_[p + "vcs_per_request"] = per(before.voluntary_cs, after.voluntary_cs);
  extra_[p + "ivcs_per_request"] = per(before.involuntary_cs, after.involuntary_cs);
  extra_[p + "faults_per_request"] = per(before.minor_faults, after.minor_faults);
  if (syscalls) extra_[p + "syscalls_per_request"] = per(0, *syscalls);
}

// ---- hostile clients (mcp-ws) ----

namespace {
std::string hostile_initialize(std::string_view version) {
  return R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":")" +
         std::string(version) +
         R"(","capabilities":{},"clientInfo":{"name":"exai-bench-hostile","version":"1"}}})";
}
constexpr std::string_view hostile_initialized = R"({"jsonrpc":"2.0","method":"notifications/initialized"})";
}  // namespace

void engine::spawn_hostile(asio::any_io_executor ex) {
  for (unsigned i = 0; i < o_.hostile_readers; ++i) asio::co_spawn(ex, async_hostile_reader(i), asio::detached);
  for (unsigned i = 0; i < o_.batch_clients; ++i) asio::co_spawn(ex, async_batcher(i), asio::detached);
  if (o_.hostile_readers > 0) extra_["hostile_readers"] = o_.hostile_readers;
  if (o_.batch_clients > 0) extra_["batch_clients"] = o_.batch_clients;
}

void engine::stop_hostile() {
  if (o_.hostile_readers == 0 && o_.batch_clients == 0) return;
  hostile_stop_ = true;
  for (auto& t : hostile_) t->abort();
  extra_["hostile_calls_sent"] = hostile_sent_;
  extra_["hostile_failures"] = hostile_failures_;
  extra_["hostile_bytes_per_call"] = o_.hostile_bytes;
  if (o_.batch_clients > 0) {
    extra_["batch_size"] = o_.batch_size;
    extra_["batches_answered"] = batches_answered_;
    extra_["batches_refused"] = batches_refused_;
  }
}

// Sends its calls and never reads: the gateway must hold only its per-session bound for it.
asio::awaitable<void> engine::async_hostile_reader(unsigned i) {
  try {
    auto owned = co_await async_connect_ws(target_, o_.subprotocol, "", 4096);
    message_transport* t = owned.get();
    hostile_.push_back(std::move(owned));
    co_await t->async_write(hostile_initialize("2025-06-18"));
    co_await t->async_write(hostile_initialized);
    const std::string tail = R"(,"method":"tools/call","params":{"name":"blob","arguments":{"bytes":)" +
                             std::to_string(o_.hostile_bytes) + "}}}";
    for (unsigned k = 1; k <= o_.hostile_calls && !hostile_stop_; ++k) {
      // Blocks once the gateway stops reading this client: that is the point.
      co_await t->async_write(R"({"jsonrpc":"2.0","id":)" + std::to_string(k) + tail);
      ++hostile_sent_;
    }
  } catch (const std::exception& ex) {
    if (!hostile_stop_) {
      ++hostile_failures_;
      std::cerr << "exai-bench: hostile reader " << i << ": " << ex.what() << "\n";
    }
  }
}

// Sends full batches of pings on a 2025-03-26 session and reads each answer before the next.
asio::awaitable<void> engine::async_batcher(unsigned i) {
  try {
    auto owned = co_await async_connect_ws(target_, o_.subprotocol, "");
    message_transport* t = owned.get();
    hostile_.push_back(std::move(owned));
    co_await t->async_write(hostile_initialize("2025-03-26"));
    for (;;) {  // the initialize reply (notifications may come first)
      auto reply = co_await t->async_read();
      if (reply.find("\"id\":0") != std::string_view::npos) break;
    }
    co_await t->async_write(hostile_initialized);
    std::string batch = "[";
    for (unsigned k = 0; k < o_.batch_size; ++k) {
      if (k > 0) batch += ',';
      batch += R"({"jsonrpc":"2.0","id":)" + std::to_string(k + 1) + R"(,"method":"ping"})";
    }
    batch += ']';
    while (!hostile_stop_) {
      co_await t->async_write(batch);
      for (;;) {
        auto reply = co_await t->async_read();
        if (!reply.empty() && reply.front() == '[') {
          ++batches_answered_;
          break;
        }
        if (reply.find("\"error\"") != std::string_view::npos) {  // over the gateway's cap
          ++batches_refused_;
          break;
        }
      }
    }
  } catch (const std::exception& ex) {
    if (!hostile_stop_) {
      ++hostile_failures_;
      std::cerr << "exai-bench: batch client " << i << ": " << ex.what() << "\n";
    }
  }
}

// ---- cancel mode ----

asio::awaitable<void> connection::async_cancel_reader() {
  while (!dead_) {
    std::string_view msg;
    try {
      msg = co_await t_->async_read();
    } catch (const std::exception&) {
      if (e_.ph_ < phase::done) {
        e_.error(error_kind::connection);
        std::cerr << "exai-bench: cancel: connection " << index_ << " dropped\n";
      }
      dead_ = true;
      break;
    }
    verdict v = e_.codec_.check(index_, msg);
    if (v.kind == verdict::ignore) {
      ++e_.notifications_;
      continue;
    }
    if (v.has_id && v.id == status_id && index_ == 0) {
      e_.status_reply_ = std::string(msg);
      e_.notify();
      continue;
    }
    // Any answer to a call is wrong: each was cancelled, and a delay outlasts the window.
    if (e_.cancels_sent_) ++e_.answered_after_cancel_;
    // (status replies are handled above; everything else here names one of our calls)
    else ++e_.answered_before_cancel_;
    e_.error(error_kind::answered_cancelled);
    if (e_.answered_before_cancel_ + e_.answered_after_cancel_ == 1)
      std::cerr << "exai-bench: cancel: an answer arrived for a cancelled call: "
                << msg.substr(0, 300) << "\n";
  }
  finished_ = true;
  ++e_.finished_count_;
  e_.notify();
}

asio::awaitable<void> connection::async_send_calls(std::uint64_t count) {
  try {
    for (std::uint64_t i = 1; i <= count; ++i) {
      e_.codec_.encode_call(index_, i, wbuf_);
      co_await t_->async_write(wbuf_);
      ++calls_sent_;
    }
  } catch (const std::exception&) {
    e_.error(error_kind::connection);
    dead_ = true;
  }
  ++e_.calls_done_;
  e_.notify();
}

asio::awaitable<void> connection::async_send_cancels() {
  try {
    for (std::uint64_t i = 1; i <= calls_sent_; ++i) {
      e_.codec_.encode_cancel(i, wbuf_);
      co_await t_->async_write(wbuf_);
    }
  } catch (const std::exception&) {
    if (!dead_) e_.error(error_kind::connection);
    dead_ = true;
  }
  ++e_.cancels_done_;
  e_.notify();
}

asio::awaitable<void> connection::async_send_status() {
  e_.codec_.encode_status_call(status_id, wbuf_);
  try {
    co_await t_->async_write(wbuf_);
  } catch (const std::exception&) {
  }
}

asio::awaitable<void> engine::async_main_cancel() {
  auto ex = co_await asio::this_coro::executor;
  co_await async_connect_all();
  std::vector<connection*> up;
  for (auto& c : conns_)
    if (c->ready_ && !c->dead_) up.push_back(c.get());
  if (up.empty()) {
    co_await async_close_all();
    co_return;
  }
  auto base = co_await async_read_metric("exai_inflight_requests");
  for (auto* c : up) asio::co_spawn(ex, c->async_cancel_reader(), asio::detached);
  std::optional<std::int64_t> status_base;
  if (o_.status_check) status_base = co_await async_query_status(*up[0]);

  // The calls: o_.requests in all, spread over the live connections.
  auto t0 = clock_type::now();
  std::uint64_t n = o_.requests, per = n / up.size(), rest = n % up.size();
  for (std::size_t i = 0; i < up.size(); ++i)
    asio::co_spawn(ex, up[i]->async_send_calls(per + (i < rest ? 1 : 0)), asio::detached);
  co_await async_wait_until(t0 + std::chrono::seconds(60), [&] { return calls_done_ == up.size(); });
  auto t_calls = clock_type::now();
  std::uint64_t sent = 0;
  for (auto* c : up) sent += c->calls_sent_;

  // Let them reach the tool (mid-flight), then cancel each.
  co_await async_wait_until(clock_type::now() + std::chrono::milliseconds(o_.cancel_after_ms),
                            [] { return false; });
  auto before = co_await async_read_metric("exai_inflight_requests");
  cancels_sent_ = true;
  auto t1 = clock_type::now();
  // On CLOCK_MONOTONIC (system-wide), to compare with times other processes record.
  extra_["cancels_start_mono_us"] =
      std::chrono::duration_cast<std::chrono::microseconds>(t1.time_since_epoch()).count();
  for (auto* c : up) asio::co_spawn(ex, c->async_send_cancels(), asio::detached);
  co_await async_wait_until(t1 + std::chrono::seconds(60), [&] { return cancels_done_ == up.size(); });
  auto t_cancels = clock_type::now();

  // No answer may arrive for any of them within the window.
  co_await async_wait_until(clock_type::now() + std::chrono::milliseconds(o_.wait_ms), [] { return false; });

  // The in-flight count must come back to the baseline (0 for an otherwise idle gateway).
  double target = base.value_or(0);
  std::optional<double> after;
  auto settle_start = clock_type::now();
  double settle_ms = -1;
  if (!o_.metrics_url.empty()) {
    auto deadline = settle_start + std::chrono::milliseconds(o_.settle_ms);
    asio::steady_timer poll(ex);
    for (;;) {
      after = co_await async_read_metric("exai_inflight_requests");
      if (after && *after <= target) {
        settle_ms = std::chrono::duration<double, std::milli>(clock_type::now() - settle_start).count();
        break;
      }
      if (clock_type::now() >= deadline) break;
      poll.expires_after(std::chrono::milliseconds(50));
      boost::system::error_code ec;
      co_await poll.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (!after || *after > target) error(error_kind::not_settled);
    extra_["inflight_metric_base"] = base ? json::value(*base) : json::value(nullptr);
    extra_["inflight_before_cancel"] = before ? json::value(*before) : json::value(nullptr);
    extra_["inflight_after"] = after ? json::value(*after) : json::value(nullptr);
    extra_["settle_ms"] = round_to(settle_ms, 1);
  }
  if (o_.status_check) {
    // The status call counts itself as in flight: compare with the count read before the calls.
    std::optional<std::int64_t> in_flight;
    auto deadline = clock_type::now() + std::chrono::milliseconds(std::max(o_.settle_ms, 1000u));
    for (;;) {
      in_flight = co_await async_query_status(*up[0]);
      if ((in_flight && status_base && *in_flight <= *status_base) || clock_type::now() >= deadline ||
          up[0]->dead_)
        break;
      co_await async_wait_until(clock_type::now() + std::chrono::milliseconds(100), [] { return false; });
    }
    extra_["status_in_flight_base"] = status_base ? json::value(*status_base) : json::value(nullptr);
    extra_["status_in_flight"] = in_flight ? json::value(*in_flight) : json::value(nullptr);
    if (!in_flight || !status_base || *in_flight > *status_base) error(error_kind::not_settled);
  }
  auto target_sample = sample_process(o_.target_pid);
  co_await async_close_all();
  if (o_.target_pid > 0) {
    extra_["target_pid"] = o_.target_pid;
    if (target_sample) {
      extra_["rss_peak_kb"] = target_sample->rss_peak_kb;
      extra_["rss_kb"] = target_sample->rss_kb;
    }
  }
  extra_["requests"] = sent;
  extra_["cancelled"] = sent;
  extra_["answered_before_cancel"] = answered_before_cancel_;
  extra_["answered_after_cancel"] = answered_after_cancel_;
  extra_["delay_ms"] = o_.delay_ms;
  extra_["send_calls_ms"] = round_to(std::chrono::duration<double, std::milli>(t_calls - t0).count(), 1);
  extra_["send_cancels_ms"] = round_to(std::chrono::duration<double, std::milli>(t_cancels - t1).count(), 1);
  extra_["wait_ms"] = o_.wait_ms;
  if (sent < n) error(error_kind::missing, n - sent);
  measured_ok_ = sent;
}

// ---- idle mode ----

asio::awaitable<void> connection::async_hold() {
  while (!dead_) {
    try {
      std::string_view msg = co_await t_->async_read();
      (void)msg;
      ++e_.notifications_;  // a session that is idle should get nothing but pings (handled below us)
    } catch (const std::exception&) {
      if (e_.ph_ < phase::done) {
        e_.error(error_kind::connection);
        std::cerr << "exai-bench: idle: connection " << index_ << " was closed by the peer\n";
      }
      dead_ = true;
    }
  }
  finished_ = true;
  ++e_.finished_count_;
  e_.notify();
}

asio::awaitable<void> engine::async_main_idle() {
  auto ex = co_await asio::this_coro::executor;
  int pid = o_.target_pid;
  auto before = sample_process(pid);
  auto t0 = clock_type::now();
  co_await async_connect_all();
  auto t_connected = clock_type::now();
  for (auto& c : conns_)
    if (c->ready_ && !c->dead_) asio::co_spawn(ex, c->async_hold(), asio::detached);
  ph_ = phase::measure;
  co_await async_wait_until(clock_type::now() + seconds_f(o_.duration_s), [] { return false; });
  auto held = sample_process(pid);
  unsigned open = live();
  co_await async_close_all();
  extra_["connections_open"] = open;
  extra_["connect_all_ms"] = round_to(std::chrono::duration<double, std::milli>(t_connected - t0).count(), 1);
  extra_["hold_s"] = o_.duration_s;
  extra_["unexpected_messages"] = notifications_;
  measured_ok_ = open;
  if (pid > 0) {
    extra_["target_pid"] = pid;
    if (before) extra_["rss_before_kb"] = before->rss_kb;
    if (held) {
      extra_["rss_kb"] = held->rss_kb;
      extra_["rss_peak_kb"] = held->rss_peak_kb;
      if (before && open > 0)
        extra_["kb_per_connection"] = round_to(double(held->rss_kb - before->rss_kb) / open, 2);
    }
  }
}

asio::awaitable<void> run_main(engine& e) {
  try {
    if (e.o_.mode == mode::cancel) co_await e.async_main_cancel();
    else if (e.o_.mode == mode::idle) co_await e.async_main_idle();
    else co_await e.async_main_load();
  } catch (const std::exception& ex) {
    std::cerr << "exai-bench: " << ex.what() << "\n";
    e.error(error_kind::connection);
    e.hard_stop_ = true;
  }
  // Whatever is left (a stuck coroutine) must not keep the process alive.
  if (e.hard_stop_) e.ioc_.stop();
}

}  // namespace

run_result run_client(const options& o) {
  bench::dialect d = o.mode == mode::op ? dialect::op : o.mode == mode::raw ? dialect::raw : dialect::mcp;
  if (o.mode != mode::mcp_stdio && !parse_url(o.url) && !parse_url(o.url, "http")) {
    run_result r;
    r.report["error"] = "bad --url (expected ws://HOST:PORT[/PATH]): " + o.url;
    return r;
  }
  asio::io_context ioc(1);
  engine e(ioc, o, d);
  asio::co_spawn(ioc, run_main(e), asio::detached);
  ioc.run();

  run_result r;
  json::object& j = r.report;
  j["name"] = o.name.empty() ? std::string(mode_name(o.mode)) : o.name;
  j["mode"] = mode_name(o.mode);
  if (o.mode == mode::mcp_stdio) {
    json::array cmd;
    for (const auto& a : o.command) cmd.emplace_back(a);
    j["command"] = std::move(cmd);
  } else {
    j["url"] = o.url;
  }
  j["connections"] = o.mode == mode::mcp_stdio ? 1u : o.connections;
  if (o.mode != mode::idle && o.mode != mode::cancel) {
    j["inflight"] = o.inflight;
    j["payload_bytes"] = o.payload_bytes;
  }
  if (o.mode != mode::raw && o.mode != mode::idle) j["tool"] = o.tool;
  j["requests"] = e.measured_ok_;
  std::uint64_t errors = e.total_errors();
  j["errors"] = errors;
  json::object kinds;
  for (int k = 1; k < static_cast<int>(error_kind::count_); ++k)
    if (e.errors_[k]) kinds[error_kind_name(static_cast<error_kind>(k))] = e.errors_[k];
  j["error_kinds"] = std::move(kinds);
  if (o.mode != mode::cancel) {
    // idle: the histogram holds connect + initialize times.
    const char* prefix = o.mode == mode::idle ? "connect_" : "";
    auto us = [](std::uint64_t ns) { return round_to(ns / 1000.0, 1); };
    j[std::string(prefix) + "p50_us"] = us(e.hist_.quantile(0.50));
    j[std::string(prefix) + "p90_us"] = us(e.hist_.quantile(0.90));
    j[std::string(prefix) + "p99_us"] = us(e.hist_.quantile(0.99));
    j[std::string(prefix) + "p999_us"] = us(e.hist_.quantile(0.999));
    j[std::string(prefix) + "max_us"] = us(e.hist_.max());
    j[std::string(prefix) + "mean_us"] = us(static_cast<std::uint64_t>(e.hist_.mean()));
  }
  for (auto& kv : e.extra_) j[kv.key()] = kv.value();
  if (!j.contains("throughput_per_s") && o.mode != mode::idle && o.mode != mode::cancel)
    j["throughput_per_s"] = 0.0;
  r.ok = errors == 0 && e.measured_ok_ > 0;
  r.hard_stop = e.hard_stop_;
  return r;
}

}  // namespace exai::bench
