// classify(): the per-message dialect decision (house-style 2; exai-op-protocol.md section 5).
#include "codecs/classify.hpp"
#include "describe.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

using namespace exai::codecs;
namespace json = boost::json;

namespace {
classification of(std::string_view text) { return classify(json::parse(text)); }
}  // namespace

BOOST_AUTO_TEST_SUITE(classify_literals)

BOOST_AUTO_TEST_CASE(jsonrpc_objects) {
  BOOST_TEST((of(R"({"jsonrpc":"2.0","id":1,"method":"ping"})") == classification::jsonrpc));
  BOOST_TEST((of(R"({"jsonrpc":"2.0"})") == classification::jsonrpc));  // decode judges the rest
  BOOST_TEST((of(R"({"jsonrpc":"1.0","method":"ping"})") == classification::neither));
  BOOST_TEST((of(R"({"jsonrpc":2.0,"method":"ping"})") == classification::neither));
  BOOST_TEST((of(R"({"jsonrpc":null})") == classification::neither));
}

BOOST_AUTO_TEST_CASE(op_objects) {
  BOOST_TEST((of(R"({"op":"hello","token":"t"})") == classification::op));
  BOOST_TEST((of(R"({"op":"no_such_op"})") == classification::op));  // decode says unknown op
  BOOST_TEST((of(R"({"op":5})") == classification::neither));
  BOOST_TEST((of(R"({"op":null})") == classification::neither));
}

BOOST_AUTO_TEST_CASE(both_or_neither) {
  BOOST_TEST((of(R"({"jsonrpc":"2.0","op":"hello"})") == classification::neither));
  BOOST_TEST((of(R"({"jsonrpc":"1.0","op":"hello"})") == classification::neither));
  BOOST_TEST((of(R"({"method":"ping","id":1})") == classification::neither));
  BOOST_TEST((of(R"({"error":{"code":"X"}})") == classification::neither));
  BOOST_TEST((of(R"({})") == classification::neither));
}

BOOST_AUTO_TEST_CASE(non_objects) {
  BOOST_TEST((of("[]") == classification::jsonrpc_batch));
  BOOST_TEST((of(R"([{"jsonrpc":"2.0","method":"x"}])") == classification::jsonrpc_batch));
  BOOST_TEST((of("[1,2]") == classification::jsonrpc_batch));
  BOOST_TEST((of("null") == classification::neither));
  BOOST_TEST((of("true") == classification::neither));
  BOOST_TEST((of("42") == classification::neither));
  BOOST_TEST((of("-1.5") == classification::neither));
  BOOST_TEST((of(R"("op")") == classification::neither));
}

BOOST_AUTO_TEST_SUITE_END()
