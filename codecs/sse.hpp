// Server-sent events (WHATWG HTML "server-sent events", the text/event-stream format): a sans-I/O
// decoder fed byte chunks of any size, and an encoder. Model providers stream their answers this
// way (exai-tools-reference.md §2.4); an HTTP transport will send with the encoder.
#pragma once

#include "codecs/error.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace exai::codecs {

struct sse_event {
  std::string event;  // the `event:` field; empty means the default type "message"
  std::string data;   // the `data:` lines joined with "\n"
  std::string id;     // the last `id:` seen on the stream (it persists across events, per spec)
  std::optional<std::uint64_t> retry;  // `retry:` milliseconds, when this event carried one

  friend bool operator==(const sse_event&, const sse_event&) = default;
};

// Decoding follows the spec's rules: lines end with "\r\n", "\n" or "\r" (a "\r\n" split between
// two chunks counts once); a leading UTF-8 BOM is dropped; `:` lines are comments; a field's value
// loses one leading space; several `data:` lines join with "\n"; a blank line dispatches the
// event unless no data was given; unknown fields are ignored; an id holding NUL is ignored.
// `[DONE]` is ordinary data here: the OpenAI-style adapters recognise it.
class sse_decoder {
 public:
  // An event whose data (or a single line) exceeds max_event bytes yields one message_too_large
  // error; the rest of it, up to the next blank line, is dropped.
  explicit sse_decoder(std::size_t max_event = 16u * 1024 * 1024);

  void feed(std::string_view chunk);
  // The next complete event, an error for an oversize event, or nullopt when more input is needed.
  std::optional<result<sse_event>> next();

  // The stream ended. Per spec an unterminated last event is discarded; this says whether there
  // was one (a truncated stream), so callers can tell a cut from a clean end.
  bool finish();

  std::size_t comments() const noexcept { return comments_; }  // keep-alive lines seen
  std::size_t buffered() const noexcept;  // bytes held: the partial line and event

 private:
  void line(std::string_view l);
  void dispatch();

  std::size_t max_event_;
  std::string line_;          // the partial line
  bool skip_lf_ = false;      // the previous chunk ended in "\r"
  bool bom_checked_ = false;
  bool discarding_ = false;   // inside an oversize event, until the next blank line
  bool line_too_long_ = false;
  std::string data_;
  std::string event_;
  std::string last_id_;
  std::optional<std::uint64_t> retry_;
  bool has_data_ = false;
  bool pending_fields_ = false;  // some field line seen since the last dispatch
  std::size_t comments_ = 0;
  std::deque<result<sse_event>> ready_;
};

// One event in wire form, ending with the blank line. Newlines inside `data` (any of "\r\n", "\n",
// "\r") become separate `data:` lines; `event` and `id` must not hold a newline (they are cut at
// the first one). The id line is written only when id is not empty.
std::string sse_encode(const sse_event& e);
// A comment line (a keep-alive): ": text\n". Newlines in text are replaced by spaces.
std::string sse_comment(std::string_view text);

}  // namespace exai::codecs
