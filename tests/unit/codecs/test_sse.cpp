// sse_decoder / sse_encode: the text/event-stream rules (WHATWG HTML, server-sent events) that
// model providers rely on: any chunk boundaries, CR / LF / CRLF, multi-line data, named events,
// ids, comments, oversize events, a truncated end; and encode -> decode round trips.
#include "codecs/sse.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

using namespace exai::codecs;

namespace {

std::vector<sse_event> drain(sse_decoder& d, int* errors = nullptr) {
  std::vector<sse_event> out;
  while (auto item = d.next()) {
    if (*item) {
      out.push_back(**item);
    } else {
      BOOST_TEST((item->error().code == errc::message_too_large));
      if (errors) ++*errors;
    }
  }
  return out;
}

// Decodes `wire` fed in pieces of `step` bytes.
std::vector<sse_event> decode(std::string_view wire, std::size_t step) {
  sse_decoder d;
  std::vector<sse_event> out;
  for (std::size_t i = 0; i < wire.size(); i += step) {
    d.feed(wire.substr(i, step));
    auto got = drain(d);
    out.insert(out.end(), got.begin(), got.end());
  }
  return out;
}

sse_event ev(std::string event, std::string data, std::string id = {}) {
  sse_event e;
  e.event = std::move(event);
  e.data = std::move(data);
  e.id = std::move(id);
  return e;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sse)

BOOST_AUTO_TEST_CASE(openai_stream_any_chunking) {
  const std::string wire =
      "data: {\"a\":1}\n\n"
      ": keep-alive\n\n"
      "data: {\"b\":2}\r\n\r\n"
      "data: [DONE]\r\r";
  for (std::size_t step = 1; step <= wire.size(); ++step) {
    auto got = decode(wire, step);
    BOOST_TEST_REQUIRE(got.size() == 3u, "step " << step);
    BOOST_TEST(got[0].data == "{\"a\":1}");
    BOOST_TEST(got[1].data == "{\"b\":2}");
    BOOST_TEST(got[2].data == "[DONE]");
    BOOST_TEST(got[2].event.empty());
  }
}

BOOST_AUTO_TEST_CASE(named_events_multiline_data_and_ids) {
  const std::string wire =
      "event: message_start\n"
      "id: 7\n"
      "data: line one\n"
      "data:line two\n"
      "data:  indented\n"
      "\n"
      "event: ping\n"
      "data: {}\n"
      "\n";
  auto got = decode(wire, 3);
  BOOST_TEST_REQUIRE(got.size() == 2u);
  BOOST_TEST(got[0].event == "message_start");
  BOOST_TEST(got[0].data == "line one\nline two\n indented");
  BOOST_TEST(got[0].id == "7");
  BOOST_TEST(got[1].event == "ping");
  BOOST_TEST(got[1].id == "7");  // the last id persists
}

BOOST_AUTO_TEST_CASE(crlf_split_between_chunks_counts_once) {
  sse_decoder d;
  d.feed("data: x\r");
  d.feed("\ndata: y\r");
  d.feed("\n\r");
  d.feed("\n");
  auto got = drain(d);
  BOOST_TEST_REQUIRE(got.size() == 1u);
  BOOST_TEST(got[0].data == "x\ny");
}

BOOST_AUTO_TEST_CASE(no_data_no_event_and_unknown_fields) {
  auto got = decode("event: lonely\n\nfoo: bar\ndata\n\nretry: 250\ndata: r\n\nretry: x\ndata: s\n\n", 5);
  BOOST_TEST_REQUIRE(got.size() == 3u);
  BOOST_TEST(got[0].data == "");      // "data" without a colon is an empty data line
  BOOST_TEST(got[0].event.empty());   // the type was reset by the blank line without data
  BOOST_TEST(got[1].retry.value_or(0) == 250u);
  BOOST_TEST(!got[2].retry.has_value());
}

BOOST_AUTO_TEST_CASE(bom_only_at_start) {
  auto got = decode("\xEF\xBB\xBF" "data: a\n\n", 1);
  BOOST_TEST_REQUIRE(got.size() == 1u);
  BOOST_TEST(got[0].data == "a");
}

BOOST_AUTO_TEST_CASE(truncated_end_is_reported) {
  sse_decoder d;
  d.feed("data: whole\n\ndata: cut");
  BOOST_TEST(drain(d).size() == 1u);
  BOOST_TEST(d.finish());
  sse_decoder clean;
  clean.feed("data: whole\n\n");
  BOOST_TEST(drain(clean).size() == 1u);
  BOOST_TEST(!clean.finish());
  sse_decoder fields_only;
  fields_only.feed("data: x\n");  // complete line, but the event never ended
  BOOST_TEST(drain(fields_only).empty());
  BOOST_TEST(fields_only.finish());
}

BOOST_AUTO_TEST_CASE(oversize_event_is_one_error_then_resync) {
  sse_decoder d(16);
  int errors = 0;
  d.feed("data: 0123456789\ndata: 0123456789\n\ndata: ok\n\n");
  auto got = drain(d, &errors);
  BOOST_TEST(errors == 1);
  BOOST_TEST_REQUIRE(got.size() == 1u);
  BOOST_TEST(got[0].data == "ok");
  // A single line over the limit, in small pieces: still one error and bounded memory.
  sse_decoder d2(16);
  errors = 0;
  d2.feed("data: ");
  for (int i = 0; i < 100; ++i) {
    d2.feed("xxxxxxxx");
    BOOST_TEST(d2.buffered() <= 16u);
  }
  d2.feed("\n\ndata: after\n\n");
  got = drain(d2, &errors);
  BOOST_TEST(errors == 1);
  BOOST_TEST_REQUIRE(got.size() == 1u);
  BOOST_TEST(got[0].data == "after");
}

BOOST_AUTO_TEST_CASE(encode_round_trips) {
  std::vector<sse_event> events = {ev("", "plain"), ev("content_block_delta", "{\"x\":1}", "id-1"),
                                   ev("", "a\nb\n\nc"), ev("", ""), ev("e", " leading space")};
  events[1].retry = 3000;
  std::string wire;
  for (const auto& e : events) wire += sse_encode(e);
  wire += sse_comment("ping\nnot a field");
  auto got = decode(wire, 2);
  BOOST_TEST_REQUIRE(got.size() == events.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    sse_event want = events[i];
    if (i >= 1) want.id = "id-1";  // ids persist across events
    BOOST_TEST((got[i] == want), "event " << i);
  }
  BOOST_TEST(sse_encode(ev("", "x\r\ny")) == "data: x\ndata: y\n\n");
}

BOOST_AUTO_TEST_SUITE_END()
