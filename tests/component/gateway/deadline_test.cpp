// routes/deadline.hpp on a real io_context: the timer raced against an operation — result,
// timeout, outer cancellation (cancelled, never timeout), exceptions, an already passed deadline.
#define BOOST_TEST_MODULE routes_deadline
#include "routes/deadline.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <optional>
#include <stdexcept>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using exai::codecs::errc;
using rclock = exai::routes::clock;
using value_result = exai::codecs::result<boost::json::value>;

namespace {

int finished_ops = 0;

// Waits `d`; reports cancellation as errc::cancelled like a backend does.
asio::awaitable<value_result> sleeper(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  ++finished_ops;
  if (ec) co_return exai::codecs::error(errc::cancelled, "cancelled");
  co_return boost::json::value(42);
}

asio::awaitable<value_result> thrower() {
  co_await asio::post(asio::use_awaitable);
  throw std::runtime_error("boom");
}

struct outcome {
  std::optional<value_result> r;
};

void run(asio::io_context& ioc, asio::awaitable<value_result> op, rclock::time_point deadline,
         outcome& out, asio::cancellation_slot slot = {}) {
  asio::co_spawn(ioc, exai::routes::async_with_deadline(std::move(op), deadline),
                 asio::bind_cancellation_slot(slot, [&out](std::exception_ptr e, value_result r) {
                   BOOST_REQUIRE(!e);
                   out.r = std::move(r);
                 }));
}

}  // namespace

BOOST_AUTO_TEST_CASE(operation_first) {
  asio::io_context ioc;
  outcome o;
  run(ioc, sleeper(10ms), rclock::now() + 5s, o);
  auto t0 = rclock::now();
  ioc.run_for(10s);
  BOOST_REQUIRE(o.r);
  BOOST_REQUIRE(o.r->has_value());
  BOOST_TEST(o.r->value().as_int64() == 42);
  BOOST_TEST((rclock::now() - t0 < 4s));  // the timer did not hold the race open
}

BOOST_AUTO_TEST_CASE(deadline_first_cancels_the_operation) {
  asio::io_context ioc;
  outcome o;
  finished_ops = 0;
  run(ioc, sleeper(10s), rclock::now() + 30ms, o);
  auto t0 = rclock::now();
  ioc.run_for(10s);
  BOOST_REQUIRE(o.r);
  BOOST_REQUIRE(o.r->has_error());
  BOOST_TEST((o.r->error().code == errc::timeout));
  BOOST_TEST(finished_ops == 1);  // awaited to its end, not abandoned
  BOOST_TEST((rclock::now() - t0 < 5s));
}

BOOST_AUTO_TEST_CASE(outer_cancellation_is_cancelled_not_timeout) {
  asio::io_context ioc;
  outcome o;
  asio::cancellation_signal sig;
  run(ioc, sleeper(10s), rclock::now() + 20s, o, sig.slot());
  asio::steady_timer later(ioc, 20ms);
  later.async_wait([&](boost::system::error_code) { sig.emit(asio::cancellation_type::terminal); });
  ioc.run_for(10s);
  BOOST_REQUIRE(o.r);
  BOOST_REQUIRE(o.r->has_error());
  BOOST_TEST((o.r->error().code == errc::cancelled));
}

BOOST_AUTO_TEST_CASE(an_exception_is_an_internal_error_at_once) {
  asio::io_context ioc;
  outcome o;
  run(ioc, thrower(), rclock::now() + 20s, o);
  auto t0 = rclock::now();
  ioc.run_for(10s);
  BOOST_REQUIRE(o.r);
  BOOST_REQUIRE(o.r->has_error());
  BOOST_TEST((o.r->error().code == errc::internal));
  BOOST_TEST(o.r->error().message == "boom");
  BOOST_TEST((rclock::now() - t0 < 5s));
}

BOOST_AUTO_TEST_CASE(a_passed_deadline_never_starts_the_operation) {
  asio::io_context ioc;
  outcome o;
  finished_ops = 0;
  run(ioc, sleeper(1ms), rclock::now() - 1ms, o);
  ioc.run_for(5s);
  BOOST_REQUIRE(o.r);
  BOOST_TEST((o.r->error().code == errc::timeout));
  BOOST_TEST(finished_ops == 0);
}

BOOST_AUTO_TEST_CASE(no_deadline_runs_plainly) {
  asio::io_context ioc;
  outcome o;
  run(ioc, sleeper(5ms), rclock::time_point::max(), o);
  ioc.run_for(5s);
  BOOST_REQUIRE(o.r);
  BOOST_TEST(o.r->value().as_int64() == 42);
}
