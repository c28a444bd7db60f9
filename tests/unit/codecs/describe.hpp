// Test helpers: every codec struct as plain JSON with its C++ member names, so golden files can
// state exactly what a decoder produced (independently of the encoders under test).
#pragma once

#include "codecs/error.hpp"
#include "codecs/jsonrpc.hpp"
#include "codecs/model.hpp"
#include "codecs/op.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <filesystem>
#include <string>
#include <string_view>

namespace exai::codecs::test {

std::string_view errc_name(errc e);

boost::json::value describe(const error& e);
boost::json::value describe(const jsonrpc::decode_failure& f);
boost::json::value describe(const inbound& in);
boost::json::value describe(const tool_result& r);
boost::json::value describe(const op::client_message& m);
boost::json::value describe(const op::server_message& m);

// The whole file, bytes as they are.
std::string read_file(const std::filesystem::path& p);
// Where the golden files live: $EXAI_TEST_DATA_DIR (set by ctest) or the compiled-in path.
std::filesystem::path data_dir();

}  // namespace exai::codecs::test

namespace exai::codecs::test {
// Indented JSON for golden files that people read and review (Boost 1.81 has no pretty printer).
std::string pretty(const boost::json::value& v);
}  // namespace exai::codecs::test

#include "codecs/classify.hpp"

#include <ostream>

// Boost.Test printers (found by ADL) so failed BOOST_TEST comparisons show names, not nothing.
namespace exai::codecs {
inline std::ostream& boost_test_print_type(std::ostream& os, errc e) {
  return os << test::errc_name(e);
}
inline std::ostream& boost_test_print_type(std::ostream& os, classification c) {
  return os << static_cast<int>(c);
}
inline std::ostream& boost_test_print_type(std::ostream& os, message_type t) {
  return os << static_cast<int>(t);
}
inline std::ostream& boost_test_print_type(std::ostream& os, dialect d) {
  return os << (d == dialect::jsonrpc ? "jsonrpc" : "op");
}
}  // namespace exai::codecs
