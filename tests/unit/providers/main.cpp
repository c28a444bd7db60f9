// The providers unit test executable (Boost.Test module definition only).
#define BOOST_TEST_MODULE exai_providers_unit
#include <boost/test/unit_test.hpp>
