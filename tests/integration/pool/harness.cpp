// Integration harness for the daemon pool: child daemons, a bounded runner, concurrent calls.
#include "tests/integration/pool/harness.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <stdexcept>

namespace exai::gateway::pool::itest {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

std::string peer::describe() const { return "127.0.0.1:" + std::to_string(port); }

namespace {
peer start_peer(std::vector<std::string> argv) {
  auto c = test::start_listening(std::move(argv));
  return peer{std::move(c.proc), c.port};
}
}  // namespace

peer start_exai_daemon(bool compat_reference, std::uint16_t port, std::vector<std::string> extra) {
  std::vector<std::string> argv{test::program("EXAI_DAEMON_BIN"), "--listen",
                                "127.0.0.1:" + std::to_string(port), "--tools", "core,diagnostics",
                                "--log-level", "warn"};
  if (compat_reference) {
    argv.push_back("--compat");
    argv.push_back("reference");
  }
  for (auto& a : extra) argv.push_back(std::move(a));
  return start_peer(std::move(argv));
}

peer start_fake_reference(std::vector<std::string> extra, std::uint16_t port) {
  std::vector<std::string> argv{EXAI_FAKE_REFERENCE_DAEMON_BIN, "--listen",
                                "127.0.0.1:" + std::to_string(port)};
  for (auto& a : extra) argv.push_back(std::move(a));
  return start_peer(std::move(argv));
}

pool_options test_options(std::uint16_t port, std::size_t connections) {
  pool_options o;
  o.endpoints.push_back(endpoint{"127.0.0.1", port, "/"});
  o.connections_per_endpoint = connections;
  o.backoff_initial = ms(20);
  o.backoff_max = ms(300);
  o.connect_timeout = ms(2000);
  o.hello_timeout = ms(2000);
  return o;
}

void run_bounded(asio::io_context& io, asio::awaitable<void> body, std::chrono::seconds limit) {
  bool done = false;
  std::exception_ptr failure;
  asio::co_spawn(io, std::move(body), [&](std::exception_ptr e) {
    done = true;
    failure = e;
  });
  const auto deadline = steady::now() + limit;
  while (!done && steady::now() < deadline) io.run_one_until(deadline);
  if (!done) {
    BOOST_ERROR("test body did not finish within " << limit.count() << " s");
  }
  // Let the pool's connection tasks wind down (the pool was stopped or destroyed by the body).
  const auto drain_deadline = steady::now() + std::chrono::seconds(5);
  while (!io.stopped() && steady::now() < drain_deadline) {
    if (io.run_one_for(std::chrono::milliseconds(100)) == 0 && io.stopped()) break;
  }
  if (failure) std::rethrow_exception(failure);
}


asio::awaitable<call_result> call(daemon_pool& pool, std::string tool, json::object args,
                                  std::optional<ms> budget, routes::progress_sink progress) {
  routes::call_context ctx;
  ctx.deadline = steady::now() + budget.value_or(ms(60000));
  ctx.progress = std::move(progress);
  ctx.session = "itest";
  co_return co_await pool.async_call_tool(std::move(tool), std::move(args), std::move(ctx));
}

std::string text_of(const codecs::tool_result& r) {
  for (const auto& b : r.content) {
    const auto* o = b.if_object();
    if (!o) continue;
    const auto* t = o->if_contains("text");
    if (t && t->is_string()) return std::string(t->get_string());
  }
  return {};
}

std::string describe(const call_result& r) {
  if (r.has_error()) {
    return "error " + codecs::make_error_code(r.error().code).message() + ": " + r.error().message +
           (r.error().upstream_code ? " (" + *r.error().upstream_code + ")" : "");
  }
  return std::string(r->is_error ? "tool error: " : "ok: ") + text_of(*r).substr(0, 200);
}

asio::awaitable<json::object> daemon_status(daemon_pool& pool) {
  auto r = co_await call(pool, "status", {}, ms(5000));
  if (!r) throw std::runtime_error("status call failed: " + describe(r));
  if (r->structured) co_return *r->structured;
  auto v = json::parse(text_of(*r));
  co_return v.as_object();
}

fanout::fanout(asio::any_io_executor ex, std::size_t n) : ex_(ex), records_(n), done_(ex) {}

void fanout::launch(std::size_t i, daemon_pool& pool, std::string tool, json::object args,
                    std::optional<ms> budget, asio::cancellation_signal* cancel) {
  ++pending_;
  records_[i].started = steady::now();
  auto op = one(this, i, &pool, std::move(tool), std::move(args), budget);
  if (cancel) {
    asio::co_spawn(ex_, std::move(op), asio::bind_cancellation_slot(cancel->slot(), asio::detached));
  } else {
    asio::co_spawn(ex_, std::move(op), asio::detached);
  }
}

asio::awaitable<void> fanout::one(fanout* self, std::size_t i, daemon_pool* pool, std::string tool,
                                  json::object args, std::optional<ms> budget) {
  call_result r = codecs::error(codecs::errc::internal, "the test call raised");
  try {
    r = co_await call(*pool, std::move(tool), std::move(args), budget);
  } catch (const std::exception& e) {
    r = codecs::error(codecs::errc::internal, std::string("the test call raised: ") + e.what());
  }
  self->records_[i].result = std::move(r);
  self->records_[i].finished = steady::now();
  if (--self->pending_ == 0) self->done_.cancel();
}

asio::awaitable<bool> fanout::wait_all(ms timeout) {
  const auto deadline = steady::now() + timeout;
  while (pending_ > 0 && steady::now() < deadline) {
    done_.expires_at(deadline);
    co_await done_.async_wait(nothrow);
  }
  co_return pending_ == 0;
}

}  // namespace exai::gateway::pool::itest
