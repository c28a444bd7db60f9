// The codecs unit test executable (Boost.Test module definition only).
#define BOOST_TEST_MODULE exai_codecs_unit
#include <boost/test/unit_test.hpp>
