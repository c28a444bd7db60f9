// net::take_batch: the batching rule every queued writer shares (count and byte bounds, a large
// first message alone, order kept, nothing taken past a bound).
#define BOOST_TEST_MODULE net_take_batch
#include "net/take_batch.hpp"

#include <boost/test/unit_test.hpp>

#include <deque>
#include <string>
#include <vector>

using exai::net::batch_limits;
using exai::net::take_batch;

BOOST_AUTO_TEST_CASE(takes_everything_under_both_bounds_in_order) {
  std::deque<std::string> q{"a", "bb", "ccc"};
  std::vector<std::string> batch;
  BOOST_TEST(take_batch(q, batch, batch_limits{8, 100}) == 6u);
  BOOST_TEST(q.empty());
  BOOST_TEST((batch == std::vector<std::string>{"a", "bb", "ccc"}));
}

BOOST_AUTO_TEST_CASE(stops_at_the_message_count) {
  std::deque<std::string> q{"1", "2", "3", "4", "5"};
  std::vector<std::string> batch;
  BOOST_TEST(take_batch(q, batch, batch_limits{2, 100}) == 2u);
  BOOST_TEST(batch.size() == 2u);
  BOOST_TEST(q.size() == 3u);
  BOOST_TEST(q.front() == "3");
}

BOOST_AUTO_TEST_CASE(leaves_the_message_that_would_pass_the_byte_bound) {
  std::deque<std::string> q{std::string(6, 'x'), std::string(5, 'y'), "z"};
  std::vector<std::string> batch;
  BOOST_TEST(take_batch(q, batch, batch_limits{8, 10}) == 6u);
  BOOST_TEST(batch.size() == 1u);
  BOOST_TEST(q.size() == 2u);  // 6 + 5 > 10: the second waits for the next write
}

BOOST_AUTO_TEST_CASE(a_first_message_larger_than_the_bound_goes_alone) {
  std::deque<std::string> q{std::string(50, 'x'), "y"};
  std::vector<std::string> batch;
  BOOST_TEST(take_batch(q, batch, batch_limits{8, 10}) == 50u);
  BOOST_TEST(batch.size() == 1u);
  BOOST_TEST(q.size() == 1u);
}

BOOST_AUTO_TEST_CASE(an_empty_queue_takes_nothing) {
  std::deque<std::string> q;
  std::vector<std::string> batch;
  BOOST_TEST(take_batch(q, batch, batch_limits{}) == 0u);
  BOOST_TEST(batch.empty());
}
