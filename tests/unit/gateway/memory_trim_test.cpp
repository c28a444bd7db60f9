// Unit tests for gateway/memory_trim.hpp (issue 7, memory after bursts): when a burst counts as
// over, and that the deferred release runs on the executor.
#define BOOST_TEST_MODULE gateway_unit
#include "gateway/memory_trim.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

using exai::gateway::burst_tracker;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_CASE(trims_once_when_a_burst_drains) {
  burst_tracker t(4, 1s);
  const auto t0 = burst_tracker::clock::time_point{} + 10s;
  // Up to 4 in flight (each finish reports the count left), then down to zero.
  BOOST_TEST(!t.on_finished(3, t0));
  BOOST_TEST(!t.on_finished(2, t0));
  BOOST_TEST(!t.on_finished(1, t0));
  BOOST_TEST(t.on_finished(0, t0));
  // Back at zero without a new burst: nothing to give back.
  BOOST_TEST(!t.on_finished(0, t0 + 2s));
}

BOOST_AUTO_TEST_CASE(a_trickle_never_trims) {
  burst_tracker t(4, 1s);
  const auto t0 = burst_tracker::clock::time_point{} + 10s;
  for (int i = 0; i < 100; ++i) BOOST_TEST(!t.on_finished(i % 3, t0 + i * 1ms));
}

BOOST_AUTO_TEST_CASE(bursts_closer_than_the_interval_trim_once) {
  burst_tracker t(2, 1s);
  const auto t0 = burst_tracker::clock::time_point{} + 10s;
  BOOST_TEST(!t.on_finished(1, t0));
  BOOST_TEST(t.on_finished(0, t0));
  BOOST_TEST(!t.on_finished(1, t0 + 100ms));
  BOOST_TEST(!t.on_finished(0, t0 + 100ms));  // a second burst within the interval
  BOOST_TEST(!t.on_finished(1, t0 + 2s));
  BOOST_TEST(t.on_finished(0, t0 + 2s));      // and one after it
}

BOOST_AUTO_TEST_CASE(the_release_runs_later_on_the_executor) {
  boost::asio::io_context ioc;
  exai::gateway::release_free_memory_soon(ioc.get_executor(), 1ms, 3ms);
  // Nothing runs until the io_context does; then the timer fires twice (two releases) and the
  // work is done.
  BOOST_TEST(ioc.run_for(2s) == 2u);
  BOOST_TEST(ioc.stopped());
}
