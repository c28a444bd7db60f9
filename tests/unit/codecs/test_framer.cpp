// line_framer: stdio framing (mcp-server-rules.md "stdio transport"): "\n" and "\r\n", any chunk
// boundaries, one error per oversize line followed by resynchronisation, blank lines skipped.
#include "codecs/line_framer.hpp"

#include <boost/test/unit_test.hpp>

#include <vector>

using namespace exai::codecs;

namespace {

// What the framer yields, with "!" + code name standing for an error.
std::vector<std::string> drain(line_framer& f) {
  std::vector<std::string> out;
  while (auto item = f.next()) {
    if (*item) {
      out.push_back(**item);
    } else {
      BOOST_TEST((item->error().code == errc::message_too_large));
      out.push_back("!too_large");
    }
  }
  return out;
}

std::vector<std::string> feed_chunks(std::size_t limit, const std::vector<std::string>& chunks) {
  line_framer f(limit);
  std::vector<std::string> out;
  for (const auto& c : chunks) {
    f.feed(c);
    auto got = drain(f);
    out.insert(out.end(), got.begin(), got.end());
  }
  return out;
}

using lines = std::vector<std::string>;

}  // namespace

BOOST_AUTO_TEST_SUITE(framer)

BOOST_AUTO_TEST_CASE(lf_crlf_and_blank_lines) {
  auto got = feed_chunks(1024, {"a\r\n{\"x\":1}\n\n\r\n  \t\nbb\nlast"});
  BOOST_TEST(got == (lines{"a", "{\"x\":1}", "bb"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(incomplete_line_waits) {
  line_framer f(64);
  f.feed("abc");
  BOOST_TEST(!f.next().has_value());
  BOOST_TEST(f.buffered() == 3u);
  f.feed("def\r");
  BOOST_TEST(!f.next().has_value());
  f.feed("\nx");
  auto item = f.next();
  BOOST_TEST_REQUIRE(item.has_value());
  BOOST_TEST_REQUIRE(item->has_value());
  BOOST_TEST(**item == "abcdef");
  BOOST_TEST(!f.next().has_value());
  BOOST_TEST(f.buffered() == 1u);
}

BOOST_AUTO_TEST_CASE(inner_cr_is_kept) {
  // Only the "\r" right before "\n" is part of the terminator; a line of just "\r" is blank.
  BOOST_TEST(feed_chunks(64, {"a\rb\n\r\r\nx\r\r\n"}) == (lines{"a\rb", "x\r"}),
             boost::test_tools::per_element());
}

// Every split of the input into two and into three chunks gives the same lines.
BOOST_AUTO_TEST_CASE(every_split_position) {
  const std::string input = "{\"a\":1}\r\n\nxy\n\r\n{\"b\":[2]}\n0123456789012\nz\r\n";
  const lines expected{"{\"a\":1}", "xy", "{\"b\":[2]}", "!too_large", "z"};
  BOOST_TEST_REQUIRE(feed_chunks(10, {input}) == expected, boost::test_tools::per_element());
  for (std::size_t i = 0; i <= input.size(); ++i) {
    BOOST_TEST_CONTEXT("split at " << i) {
      BOOST_TEST(feed_chunks(10, {input.substr(0, i), input.substr(i)}) == expected,
                 boost::test_tools::per_element());
    }
    for (std::size_t j = i; j <= input.size(); ++j) {
      auto got = feed_chunks(10, {input.substr(0, i), input.substr(i, j - i), input.substr(j)});
      BOOST_TEST_CONTEXT("split at " << i << " and " << j) { BOOST_TEST(got == expected); }
    }
  }
  std::vector<std::string> bytes;
  for (char c : input) bytes.emplace_back(1, c);
  BOOST_TEST(feed_chunks(10, bytes) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(limit_is_exact_and_excludes_terminator) {
  BOOST_TEST(feed_chunks(8, {"12345678\n"}) == lines{"12345678"});
  BOOST_TEST(feed_chunks(8, {"12345678\r\n"}) == lines{"12345678"});
  BOOST_TEST(feed_chunks(8, {"123456789\n"}) == lines{"!too_large"});
  BOOST_TEST(feed_chunks(8, {"123456789\r\n"}) == lines{"!too_large"});
  // Byte by byte, the partial line is judged before its newline arrives.
  std::vector<std::string> bytes;
  for (char c : std::string("12345678\r\n123456789\r\nok\n")) bytes.emplace_back(1, c);
  BOOST_TEST(feed_chunks(8, bytes) == (lines{"12345678", "!too_large", "ok"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(oversize_then_resync) {
  const std::string big(100, 'x');
  BOOST_TEST(feed_chunks(16, {"before\n" + big + "\nafter\n"}) ==
                 (lines{"before", "!too_large", "after"}),
             boost::test_tools::per_element());
  // The oversize part arrives without a newline: one error, nothing buffered, then the rest of
  // that line (in later chunks) is dropped up to its newline.
  line_framer f(16);
  f.feed("before\n" + big);
  BOOST_TEST(drain(f) == (lines{"before", "!too_large"}), boost::test_tools::per_element());
  BOOST_TEST(f.buffered() == 0u);
  f.feed(big);
  BOOST_TEST(drain(f).empty());
  BOOST_TEST(f.buffered() == 0u);
  f.feed(big + "\r");
  BOOST_TEST(drain(f).empty());
  f.feed("\n{\"ok\":1}\n");
  BOOST_TEST(drain(f) == lines{"{\"ok\":1}"});
  // Two oversize lines in a row give two errors.
  BOOST_TEST(feed_chunks(4, {"aaaaaa\nbbbbbb\ncc\n"}) == (lines{"!too_large", "!too_large", "cc"}),
             boost::test_tools::per_element());
}

// A caller may feed several chunks before draining: an oversize unterminated line is dropped by
// feed() itself, and its error still comes after the lines that preceded it.
BOOST_AUTO_TEST_CASE(feed_without_draining_stays_bounded) {
  line_framer f(16);
  f.feed("ab\ncd");
  for (int i = 0; i < 1000; ++i) f.feed(std::string(100, 'x'));
  BOOST_TEST(f.buffered() == 3u);  // "ab\n": the oversize line was dropped, not kept
  f.feed("yy\r\nzz\n");
  BOOST_TEST(drain(f) == (lines{"ab", "!too_large", "zz"}), boost::test_tools::per_element());
  // Two oversize lines before any next(): the second is caught when drained, in order.
  line_framer g(4);
  g.feed("ok\n");
  g.feed("aaaaaaa");
  g.feed("\nbbbbbbb");
  g.feed("\nc\n");
  BOOST_TEST(drain(g) == (lines{"ok", "!too_large", "!too_large", "c"}),
             boost::test_tools::per_element());
  // A partial line exactly one byte over, ending in "\r", may still be a legal "\r\n" line.
  line_framer h(4);
  h.feed("abcd\r");
  BOOST_TEST(drain(h).empty());
  BOOST_TEST(h.buffered() == 5u);
  h.feed("\n");
  BOOST_TEST(drain(h) == lines{"abcd"});
}

BOOST_AUTO_TEST_CASE(buffered_counts_unreturned_bytes) {
  line_framer f(64);
  f.feed("one\ntwo\nthr");
  BOOST_TEST(f.buffered() == 11u);
  auto first = f.next();
  BOOST_TEST_REQUIRE((first && *first));
  BOOST_TEST(f.buffered() == 7u);
  (void)f.next();
  (void)f.next();
  BOOST_TEST(f.buffered() == 3u);
}

// A quadratic framer (rescanning or shifting the buffer per chunk) would take ~10^11 steps here
// and hit the test timeout; a linear one takes a fraction of a second even at -O0.
BOOST_AUTO_TEST_CASE(many_small_chunks_stay_linear) {
  line_framer f(1u << 20);
  const std::size_t n = 512 * 1024;
  std::size_t lines_seen = 0;
  for (std::size_t i = 0; i < n; ++i) {
    f.feed("x");
    BOOST_REQUIRE(!f.next().has_value());
  }
  BOOST_TEST(f.buffered() == n);
  f.feed("\nshort\n");
  while (auto item = f.next()) {
    BOOST_REQUIRE(item->has_value());
    ++lines_seen;
    if (lines_seen == 1) BOOST_TEST((*item)->size() == n);
  }
  BOOST_TEST(lines_seen == 2u);
  // Many complete lines in one chunk are taken one by one without shifting the buffer each time.
  std::string many;
  for (std::size_t i = 0; i < 200000; ++i) many += "{}\n";
  f.feed(many);
  std::size_t count = 0;
  while (auto item = f.next()) count += item->has_value() ? 1 : 0;
  BOOST_TEST(count == 200000u);
  BOOST_TEST(f.buffered() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
