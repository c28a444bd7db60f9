// Stdio framing: feed byte chunks, take complete lines. Accepts "\n" and "\r\n". A line over the
// limit yields one message_too_large error and the framer resynchronises at the next newline.
#pragma once

#include "codecs/error.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace exai::codecs {

class line_framer {
 public:
  explicit line_framer(std::size_t max_line = 32u * 1024 * 1024);

  void feed(std::string_view chunk);

  // The next complete line (without its terminator); an error for an oversize line; or nullopt
  // when more input is needed. Empty lines (blank or "\r") are skipped.
  std::optional<result<std::string>> next();

  // Usage: after each feed(), call next() until it returns nullopt; an oversize partial line is
  // detected (and dropped) by next(), so the buffer stays within max_line plus one chunk.

  // Bytes buffered but not yet returned (for back-pressure decisions).
  std::size_t buffered() const noexcept;

 private:
  std::size_t max_line_;
  std::string buf_;
  std::size_t start_ = 0;     // where the next line begins (bytes before it are consumed)
  std::size_t scan_ = 0;      // where the newline search resumes
  bool discarding_ = false;   // inside an oversize line, dropping until the next newline
  bool report_oversize_ = false;
};

}  // namespace exai::codecs
