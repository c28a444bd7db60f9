// The error enum's category and its two wire mappings (error.hpp table; house-style 10).
#include "codecs/error.hpp"
#include "describe.hpp"

#include <boost/system/system_error.hpp>
#include <boost/test/unit_test.hpp>

#include <set>

using namespace exai::codecs;

namespace {

struct row {
  errc e;
  int jsonrpc;
  std::string_view op;
};

// The table of error.hpp, restated independently of error.cpp.
constexpr row table[] = {
    {errc::parse_error, -32700, "INVALID_REQUEST"},
    {errc::message_too_large, -32600, "INVALID_REQUEST"},
    {errc::too_deep, -32600, "INVALID_REQUEST"},
    {errc::invalid_request, -32600, "INVALID_REQUEST"},
    {errc::unknown_dialect, -32600, "INVALID_REQUEST"},
    {errc::method_not_found, -32601, "NOT_FOUND"},
    {errc::invalid_params, -32602, "VALIDATION_ERROR"},
    {errc::tool_not_found, -32602, "TOOL_NOT_FOUND"},
    {errc::not_initialized, -32600, "PROTOCOL_ERROR"},
    {errc::unauthorized, -32600, "UNAUTHORIZED"},
    {errc::unsupported_version, -32022, "PROTOCOL_ERROR"},
    {errc::header_mismatch, -32020, "PROTOCOL_ERROR"},
    {errc::missing_capability, -32021, "PROTOCOL_ERROR"},
    {errc::timeout, -32603, "TIMEOUT"},
    {errc::cancelled, -32603, "CANCELLED"},
    {errc::over_capacity, -32603, "OVER_CAPACITY"},
    {errc::backend_unavailable, -32603, "SERVICE_UNAVAILABLE"},
    {errc::upstream_lost, -32603, "SERVICE_UNAVAILABLE"},
    {errc::upstream_error, -32603, "INTERNAL_ERROR"},
    {errc::tool_failed, -32603, "TOOL_EXECUTION_ERROR"},
    {errc::shutting_down, -32603, "SERVICE_UNAVAILABLE"},
    {errc::internal, -32603, "INTERNAL_ERROR"},
};

}  // namespace

BOOST_AUTO_TEST_SUITE(error_mapping)

BOOST_AUTO_TEST_CASE(table_covers_every_code) {
  // errc::internal is the last enumerator: every value from parse_error to it is in the table.
  BOOST_TEST(std::size(table) == static_cast<std::size_t>(errc::internal));
  for (const auto& r : table) {
    BOOST_TEST_CONTEXT(test::errc_name(r.e)) {
      BOOST_TEST(jsonrpc_code(r.e) == r.jsonrpc);
      BOOST_TEST(op_code(r.e) == r.op);
    }
  }
  BOOST_TEST(jsonrpc_code(errc::ok) == 0);
}

BOOST_AUTO_TEST_CASE(category_messages_are_distinct) {
  BOOST_TEST(std::string_view(category().name()) == "exai");
  std::set<std::string> messages;
  for (const auto& r : table) messages.insert(make_error_code(r.e).message());
  BOOST_TEST(messages.size() == std::size(table));
  boost::system::error_code ec = errc::timeout;  // is_error_code_enum
  BOOST_TEST(ec.value() == static_cast<int>(errc::timeout));
  BOOST_TEST(&ec.category() == &category());
  BOOST_TEST(ec.message() == "timed out");
}

BOOST_AUTO_TEST_CASE(from_op_code_inverse) {
  BOOST_TEST(from_op_code("INVALID_REQUEST") == errc::invalid_request);
  BOOST_TEST(from_op_code("PROTOCOL_ERROR") == errc::invalid_request);
  BOOST_TEST(from_op_code("UNAUTHORIZED") == errc::unauthorized);
  BOOST_TEST(from_op_code("NOT_FOUND") == errc::method_not_found);
  BOOST_TEST(from_op_code("VALIDATION_ERROR") == errc::invalid_params);
  BOOST_TEST(from_op_code("TOOL_NOT_FOUND") == errc::tool_not_found);
  BOOST_TEST(from_op_code("TIMEOUT") == errc::timeout);
  BOOST_TEST(from_op_code("CANCELLED") == errc::cancelled);
  BOOST_TEST(from_op_code("OVER_CAPACITY") == errc::over_capacity);
  BOOST_TEST(from_op_code("SERVICE_UNAVAILABLE") == errc::backend_unavailable);
  BOOST_TEST(from_op_code("TOOL_EXECUTION_ERROR") == errc::tool_failed);
  BOOST_TEST(from_op_code("EXEC_ERROR") == errc::tool_failed);
  // The daemon's own failures stay upstream errors, never our `internal`.
  BOOST_TEST(from_op_code("INTERNAL_ERROR") == errc::upstream_error);
  BOOST_TEST(from_op_code("PROVIDER_ERROR") == errc::upstream_error);
  BOOST_TEST(from_op_code("DUPLICATE") == errc::upstream_error);
  BOOST_TEST(from_op_code("") == errc::upstream_error);
  BOOST_TEST(from_op_code("timeout") == errc::upstream_error);  // codes are case-sensitive
}

BOOST_AUTO_TEST_CASE(op_code_prefers_upstream_code) {
  error e(errc::upstream_error, "the daemon failed");
  BOOST_TEST(op_code(e) == "INTERNAL_ERROR");
  e.upstream_code = "PROVIDER_ERROR";
  BOOST_TEST(op_code(e) == "PROVIDER_ERROR");
  e.upstream_code = "";
  BOOST_TEST(op_code(e) == "INTERNAL_ERROR");
  error ours(errc::timeout, "deadline");
  ours.upstream_code = "PROVIDER_ERROR";  // only upstream_error forwards the daemon's code
  BOOST_TEST(op_code(ours) == "TIMEOUT");
}

BOOST_AUTO_TEST_CASE(result_value_throws_system_error) {
  result<int> r = error(errc::too_deep, "nested");
  BOOST_TEST(!r.has_value());
  try {
    (void)r.value();
    BOOST_FAIL("value() did not throw");
  } catch (const boost::system::system_error& e) {
    BOOST_TEST(e.code() == make_error_code(errc::too_deep));
    BOOST_TEST(std::string(e.what()).find("nested") != std::string::npos);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(excerpt_bounds_quoted_names) {
  BOOST_TEST(exai::codecs::excerpt("tools/call") == "tools/call");
  const std::string huge(1u << 20, 'm');
  const auto e = exai::codecs::excerpt(huge);
  BOOST_TEST(e.size() < 200u);
  BOOST_TEST(e.find("(1048576 bytes)") != std::string::npos);
  // Never cuts a UTF-8 character: 127 ASCII bytes then a 2-byte character across the limit.
  const std::string mixed = std::string(127, 'a') + "\xC3\xA9" + std::string(10, 'b');
  const auto m = exai::codecs::excerpt(mixed);
  BOOST_TEST(m.substr(0, 128) == std::string(127, 'a') + ".");
}
