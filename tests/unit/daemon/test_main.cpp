// Boost.Test module for the daemon unit tests.
#define BOOST_TEST_MODULE daemon_unit
#include <boost/test/unit_test.hpp>
