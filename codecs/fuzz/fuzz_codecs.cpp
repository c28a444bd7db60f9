// libFuzzer target for the sans-I/O codecs (issues 2, 13): any bytes through the line framer,
// bounded parsing, classify and every decoder, then re-encoding, and through the SSE decoder.
// Besides crashes and sanitizer reports it traps on broken invariants: the framers must agree
// with a whole-input reference, decode(encode(m)) must reproduce encode(m) exactly, and an SSE
// event must survive encode -> decode.
#include "codecs/classify.hpp"
#include "codecs/jsonrpc.hpp"
#include "codecs/line_framer.hpp"
#include "codecs/op.hpp"
#include "codecs/parse.hpp"
#include "codecs/sse.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace json = boost::json;
using namespace exai::codecs;

constexpr std::size_t max_line = 256;
const parse_limits limits{4096, 16};
constexpr std::size_t max_batch = 3;  // small, so the fuzzer reaches both sides of the cap

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_codecs invariant broken: %s\n", what);
  __builtin_trap();
}

void require(bool ok, const char* what) {
  if (!ok) fail(what);
}

// Re-encoding is stable: what we send decodes to a message that encodes to the same JSON.
void check_server_stable(const op::server_message& m) {
  json::object wire = std::visit([](const auto& x) { return op::encode(x); }, m);
  auto again = op::decode_server(wire);
  require(again.has_value(), "decode_server(encode(m)) failed");
  json::object wire2 = std::visit([](const auto& x) { return op::encode(x); }, *again);
  require(wire == wire2, "server message encoding not stable");
  require(parse_json(to_line(wire), {1u << 20, 64}).has_value(), "to_line not parseable");
}

void check_client_stable(const op::client_message& m) {
  json::object wire = std::visit([](const auto& x) { return op::encode(x); }, m);
  auto again = op::decode_client(wire);
  require(again.has_value(), "decode_client(encode(m)) failed");
  json::object wire2 = std::visit([](const auto& x) { return op::encode(x); }, *again);
  require(wire == wire2, "client message encoding not stable");
}

void check_tool_result(const tool_result& r) {
  (void)jsonrpc::to_call_tool_result(r);
  auto res = op::to_call_tool_res(r, std::string("fuzz"));
  auto back = op::decode_server(op::encode(res));
  require(back.has_value(), "call_tool_res from a tool_result does not decode");
  auto r2 = op::to_tool_result(std::get<op::call_tool_res>(*back));
  require(r2.is_error == r.is_error, "is_error lost in translation");
}

void check_jsonrpc(const json::value& v) {
  auto check_one = [](const json::value& m) {
    auto r = jsonrpc::decode(m);
    if (!r) {
      auto reply = jsonrpc::decode(jsonrpc::encode_error(r.error().id, r.error().err));
      require(reply.has_value(), "our error reply does not decode");
      return;
    }
    if (r->id) {
      auto reply = jsonrpc::decode(jsonrpc::encode_result(*r->id, json::object{}));
      require(reply.has_value() && reply->id && reply->id->key() == r->id->key(),
              "result reply loses the id");
    }
  };
  if (const auto* a = v.if_array()) {
    auto batch = jsonrpc::decode_batch(*a);
    require(batch.has_value() == !a->empty(), "batch decoding vs emptiness");
    // The element cap: over it nothing is decoded and the error names the cap.
    auto capped = jsonrpc::decode_batch(*a, max_batch);
    require(capped.has_value() == (!a->empty() && a->size() <= max_batch), "batch cap");
    if (capped) {
      require(capped->size() == a->size(), "one decoded entry per element");
    } else if (a->size() > max_batch) {
      require(capped.error().code == errc::invalid_request &&
                  capped.error().message.find(std::to_string(max_batch)) != std::string::npos,
              "over-cap batch error names the cap");
    }
    for (const auto& m : *a) check_one(m);
  } else {
    check_one(v);
  }
}

void check_value(const json::value& v) {
  switch (classify(v)) {
    case classification::jsonrpc:
    case classification::jsonrpc_batch: check_jsonrpc(v); break;
    case classification::op:
    case classification::neither: break;
  }
  // Every decoder sees every value: they must be total whatever the classification says.
  if (!v.is_array()) check_jsonrpc(v);
  (void)op::peek_request_id(v);
  if (auto c = op::decode_client(v)) {
    check_client_stable(*c);
    inbound in = op::to_inbound(*c);
    require(in.from == dialect::op, "to_inbound dialect");
  }
  if (auto s = op::decode_server(v)) {
    check_server_stable(*s);
    if (const auto* res = std::get_if<op::call_tool_res>(&*s)) {
      check_tool_result(op::to_tool_result(*res));
    } else if (const auto* err = std::get_if<op::error_msg>(&*s)) {
      check_tool_result(op::to_tool_result(err->error));
    } else if (const auto* list = std::get_if<op::list_tools_res>(&*s)) {
      for (const auto& t : list->tools) {
        auto mcp = op::to_mcp_tool(t.as_object());  // decode_server checked: objects only
        require(mcp.at("inputSchema").is_object(), "inputSchema must be an object");
        (void)op::to_op_tool(mcp);
      }
    }
  }
  if (const auto* o = v.if_object()) {
    (void)op::to_mcp_tool(*o);
    (void)op::to_op_tool(*o);
  }
}

bool same_json(const json::value& a, const json::value& b);

void check_message(std::string_view text) {
  auto v = parse_json(text, limits);
  if (!v) {
    auto code = v.error().code;
    require(code == errc::parse_error || code == errc::too_deep || code == errc::message_too_large,
            "parse_json error code");
    return;
  }
  auto line = to_line(*v);
  require(line.find('\n') == std::string::npos, "to_line wrote a newline");
  auto again = parse_json(line, {1u << 20, limits.max_depth});
  require(again.has_value() && same_json(*again, *v), "to_line does not round-trip");
  check_value(*v);
}

// JSON equality, except that doubles may differ by a few ulps: Boost.JSON 1.81's number parser is
// not correctly rounded (no precise mode before 1.83), so text -> double -> shortest text -> double
// can move the last bit. Everything else must be identical.
bool same_json(const json::value& a, const json::value& b) {
  if (a.is_double() && b.is_double()) {
    double x = a.get_double(), y = b.get_double();
    double scale = std::max(std::fabs(x), std::fabs(y));
    return x == y || std::fabs(x - y) <= 4 * std::numeric_limits<double>::epsilon() * scale;
  }
  if (a.kind() != b.kind()) return a == b;  // int64 vs uint64 of one number compare equal
  if (const auto* oa = a.if_object()) {
    const auto& ob = b.get_object();
    if (oa->size() != ob.size()) return false;
    for (const auto& kv : *oa) {
      const auto* other = ob.if_contains(kv.key());
      if (!other || !same_json(kv.value(), *other)) return false;
    }
    return true;
  }
  if (const auto* aa = a.if_array()) {
    const auto& ab = b.get_array();
    if (aa->size() != ab.size()) return false;
    for (std::size_t i = 0; i < aa->size(); ++i) {
      if (!same_json((*aa)[i], ab[i])) return false;
    }
    return true;
  }
  return a == b;
}

bool blank(std::string_view s) {
  return s.find_first_not_of(" \t\r") == std::string_view::npos;
}

// What the framer must yield for the whole input, computed in one pass ("" marks an error).
std::vector<std::string> reference_lines(std::string_view in) {
  std::vector<std::string> out;
  std::size_t begin = 0;
  for (;;) {
    auto nl = in.find('\n', begin);
    if (nl == std::string_view::npos) break;
    std::string_view line = in.substr(begin, nl - begin);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > max_line) {
      out.emplace_back();
    } else if (!blank(line)) {
      out.emplace_back(line);
    }
    begin = nl + 1;
  }
  std::string_view tail = in.substr(begin);
  if (tail.size() > max_line + 1 || (tail.size() == max_line + 1 && tail.back() != '\r')) {
    out.emplace_back();
  }
  return out;
}


// The SSE decoder over the whole input at once, as the reference for chunked feeding.
std::vector<sse_event> sse_whole(std::string_view in, std::size_t* errors) {
  sse_decoder d(max_line);
  d.feed(in);
  std::vector<sse_event> out;
  while (auto item = d.next()) {
    if (*item) out.push_back(**item); else ++*errors;
  }
  return out;
}

void check_sse(std::string_view input, const std::uint8_t* data, std::size_t size) {
  std::size_t whole_errors = 0;
  auto want = sse_whole(input, &whole_errors);
  sse_decoder d(max_line);
  std::vector<sse_event> got;
  std::size_t errors = 0;
  std::size_t pos = 0;
  std::size_t step = size ? 1 + data[size - 1] % 5 : 1;
  while (pos < size) {
    std::size_t n = std::min(step, size - pos);
    d.feed(input.substr(pos, n));
    pos += n;
    step = 1 + data[pos - 1] % 17;
    while (auto item = d.next()) {
      if (*item) got.push_back(**item); else ++errors;
    }
    require(d.buffered() <= 3 * (max_line + 1), "sse decoder buffers past the limit");
  }
  require(got == want && errors == whole_errors, "sse chunked decoding disagrees with whole");
  for (const auto& e : got) {
    require(e.data.size() <= max_line, "sse event over the limit");
    sse_decoder again;
    again.feed(sse_encode(e));
    auto back = again.next();
    require(back && *back && **back == e, "sse decode(encode(e)) != e");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  check_message(input);

  // The framer, fed in chunks whose sizes come from the input itself.
  line_framer framer(max_line);
  std::vector<std::string> got;
  std::size_t pos = 0;
  std::size_t step = size ? 1 + data[0] % 7 : 1;
  while (pos < size) {
    std::size_t n = std::min(step, size - pos);
    framer.feed(input.substr(pos, n));
    pos += n;
    step = 1 + data[pos - 1] % 23;
    while (auto item = framer.next()) {
      if (*item) {
        const std::string& line = **item;
        require(!line.empty() && line.size() <= max_line, "framer line size");
        require(line.find('\n') == std::string::npos, "framer line holds a newline");
        got.push_back(line);
        check_message(line);
      } else {
        require(item->error().code == errc::message_too_large, "framer error code");
        got.emplace_back();
      }
    }
    require(framer.buffered() <= max_line + 1, "framer buffers past the limit");
  }
  require(got == reference_lines(input), "framer disagrees with the reference");
  check_sse(input, data, size);
  return 0;
}
