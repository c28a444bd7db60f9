// Reconnect backoff: capped exponential with equal jitter (issue 5).
#include "net/backoff.hpp"

#include <boost/test/unit_test.hpp>

using exai::net::backoff_policy;
using ms = std::chrono::milliseconds;

BOOST_AUTO_TEST_SUITE(backoff)

BOOST_AUTO_TEST_CASE(doubles_per_failure_with_jitter_in_upper_half) {
  backoff_policy b(ms(100), ms(5000));
  BOOST_TEST(b.delay(0, 0.0).count() == 50);
  BOOST_TEST(b.delay(0, 0.999).count() == 99);
  BOOST_TEST(b.delay(1, 0.0).count() == 100);
  BOOST_TEST(b.delay(2, 0.0).count() == 200);
  BOOST_TEST(b.delay(3, 0.5).count() == 600);  // step 800: 400 fixed + 200 random
}

BOOST_AUTO_TEST_CASE(capped_at_max_even_for_huge_failure_counts) {
  backoff_policy b(ms(100), ms(5000));
  for (unsigned f : {6u, 10u, 63u, 64u, 1000u, 4000000000u}) {
    BOOST_TEST(b.delay(f, 0.0).count() == 2500);
    BOOST_TEST(b.delay(f, 1.0).count() == 5000);
  }
}

BOOST_AUTO_TEST_CASE(never_zero_and_bad_draws_clamped) {
  backoff_policy b(ms(0), ms(0));
  BOOST_TEST(b.delay(0, 0.0).count() >= 1);
  backoff_policy c(ms(100), ms(50));  // max below initial: max raised to initial
  BOOST_TEST(c.delay(5, 2.0).count() == 100);
  BOOST_TEST(c.delay(5, -1.0).count() == 50);
}

BOOST_AUTO_TEST_SUITE_END()
