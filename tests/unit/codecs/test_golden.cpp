// Golden-file tests (house-style 15): every wire shape and error branch the codecs handle, as
// input/expected pairs in tests/data/codecs/<suite>/<case>.in.json and <case>.out.json. The .in
// file is raw bytes (it may be malformed on purpose); tests/data/codecs/README.md has the layout.
// EXAI_GOLDEN_UPDATE=1 rewrites the .out files from the current code: review every diff.
#include "codecs/classify.hpp"
#include "codecs/jsonrpc.hpp"
#include "codecs/op.hpp"
#include "codecs/parse.hpp"
#include "describe.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <vector>

namespace json = boost::json;
using namespace exai::codecs;
using exai::codecs::test::describe;

namespace {

std::string_view classification_name(classification c) {
  switch (c) {
    case classification::jsonrpc: return "jsonrpc";
    case classification::jsonrpc_batch: return "jsonrpc_batch";
    case classification::op: return "op";
    case classification::neither: return "neither";
  }
  return "?";
}

// Runs fn over every case of a suite and compares with the expected file; returns the count.
std::size_t run_suite(std::string_view suite, std::size_t min_cases,
                      const std::function<json::value(const std::string&)>& fn) {
  auto dir = exai::codecs::test::data_dir() / suite;
  BOOST_TEST_REQUIRE(std::filesystem::is_directory(dir), "missing golden dir " << dir);
  std::vector<std::filesystem::path> inputs;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    auto name = entry.path().filename().string();
    if (name.size() > 8 && name.ends_with(".in.json")) inputs.push_back(entry.path());
  }
  std::sort(inputs.begin(), inputs.end());
  const bool update = std::getenv("EXAI_GOLDEN_UPDATE") != nullptr;
  for (const auto& in_path : inputs) {
    auto name = in_path.filename().string();
    name.resize(name.size() - 8);
    auto out_path = in_path.parent_path() / (name + ".out.json");
    BOOST_TEST_CONTEXT(suite << "/" << name) {
      json::value actual = fn(exai::codecs::test::read_file(in_path));
      if (update) {
        std::ofstream(out_path, std::ios::binary) << exai::codecs::test::pretty(actual);
        continue;
      }
      BOOST_TEST_REQUIRE(std::filesystem::exists(out_path), "missing " << out_path);
      boost::system::error_code ec;
      json::value expected = json::parse(exai::codecs::test::read_file(out_path), ec);
      BOOST_TEST_REQUIRE(!ec, "expected file is not JSON: " << out_path);
      BOOST_TEST(actual == expected, "actual:\n"
                                         << exai::codecs::test::pretty(actual) << "expected:\n"
                                         << exai::codecs::test::pretty(expected));
    }
  }
  // A suite that lost its files must fail, not pass silently.
  BOOST_TEST(inputs.size() >= min_cases, suite << " has only " << inputs.size() << " cases");
  return inputs.size();
}

json::value must_parse(const std::string& text) {
  auto v = parse_json(text);
  BOOST_TEST_REQUIRE(v.has_value(), "golden input is not JSON");
  return *v;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(golden)

// Limits for this suite are small so that oversize and deep inputs fit in readable files.
BOOST_AUTO_TEST_CASE(parse) {
  run_suite("parse", 10, [](const std::string& text) -> json::value {
    auto r = parse_json(text, parse_limits{256, 8});
    if (!r) return json::object{{"error", test::errc_name(r.error().code)}};
    return json::object{{"value", *r}, {"line", to_line(*r)}};
  });
}

BOOST_AUTO_TEST_CASE(classify_messages) {
  run_suite("classify", 10, [](const std::string& text) -> json::value {
    return json::object{{"classification", classification_name(classify(must_parse(text)))}};
  });
}

BOOST_AUTO_TEST_CASE(jsonrpc_decode) {
  run_suite("jsonrpc", 20, [](const std::string& text) -> json::value {
    auto v = must_parse(text);
    json::object out{{"classification", classification_name(classify(v))}};
    auto one = [](const json::value& m) -> json::value {
      auto r = jsonrpc::decode(m);
      if (r) return json::object{{"decoded", describe(*r)}};
      return json::object{{"failure", describe(r.error())},
                          {"reply", jsonrpc::encode_error(r.error().id, r.error().err)}};
    };
    if (const auto* a = v.if_array()) {
      auto batch = jsonrpc::decode_batch(*a);
      if (!batch) {
        out["batch_error"] = describe(batch.error());
        out["reply"] = jsonrpc::encode_error(std::nullopt, batch.error());
      } else {
        json::array items;
        for (std::size_t i = 0; i < batch->size(); ++i) items.push_back(one((*a)[i]));
        out["batch"] = std::move(items);
      }
    } else {
      auto r = one(v).as_object();
      for (auto& kv : r) out[kv.key()] = kv.value();
    }
    return out;
  });
}

BOOST_AUTO_TEST_CASE(op_client_decode) {
  run_suite("op_client", 15, [](const std::string& text) -> json::value {
    auto v = must_parse(text);
    auto r = op::decode_client(v);
    json::value peek = nullptr;
    if (auto id = op::peek_request_id(v)) peek = *id;
    if (!r) return json::object{{"error", describe(r.error())}, {"peek_request_id", peek}};
    json::value encoded = std::visit([](const auto& m) { return op::encode(m); }, *r);
    return json::object{
        {"decoded", describe(*r)}, {"inbound", describe(op::to_inbound(*r))}, {"encoded", encoded}};
  });
}

BOOST_AUTO_TEST_CASE(op_server_decode) {
  run_suite("op_server", 25, [](const std::string& text) -> json::value {
    auto r = op::decode_server(must_parse(text));
    if (!r) return json::object{{"error", describe(r.error())}};
    json::object out{{"decoded", describe(*r)},
                     {"encoded", std::visit([](const auto& m) { return op::encode(m); }, *r)}};
    std::optional<tool_result> tr;
    if (const auto* res = std::get_if<op::call_tool_res>(&*r)) tr = op::to_tool_result(*res);
    if (const auto* err = std::get_if<op::error_msg>(&*r)) tr = op::to_tool_result(err->error);
    if (tr) out["call_tool_result"] = jsonrpc::to_call_tool_result(*tr);
    return out;
  });
}

BOOST_AUTO_TEST_CASE(tools) {
  run_suite("tools", 4, [](const std::string& text) -> json::value {
    auto v = must_parse(text);
    BOOST_TEST_REQUIRE(v.is_object());
    auto mcp = op::to_mcp_tool(v.as_object());
    return json::object{{"mcp", mcp}, {"op", op::to_op_tool(mcp)}};
  });
}

// Input: {"content":[...], "structured"?: {...}, "is_error"?: bool}, a tool_result in JSON form.
BOOST_AUTO_TEST_CASE(tool_results) {
  run_suite("tool_results", 3, [](const std::string& text) -> json::value {
    auto v = must_parse(text);
    const auto& o = v.as_object();
    tool_result r;
    r.content = o.at("content").as_array();
    if (const auto* s = o.if_contains("structured")) r.structured = s->as_object();
    if (const auto* e = o.if_contains("is_error")) r.is_error = e->as_bool();
    return json::object{{"call_tool_result", jsonrpc::to_call_tool_result(r)},
                        {"call_tool_res", op::encode(op::to_call_tool_res(r, "r-1"))}};
  });
}

BOOST_AUTO_TEST_SUITE_END()
