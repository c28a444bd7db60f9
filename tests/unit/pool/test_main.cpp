// Unit tests of the daemon pool's pure parts (issue 5).
#define BOOST_TEST_MODULE pool_unit
#include <boost/test/unit_test.hpp>
