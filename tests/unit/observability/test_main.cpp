// The Boost.Test entry point for the observability unit tests.
#define BOOST_TEST_MODULE observability unit
#include <boost/test/unit_test.hpp>
