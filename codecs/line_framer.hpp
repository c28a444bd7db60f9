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

  // An unterminated line that is already over the limit is dropped by feed() itself, so the
  // buffer holds at most the complete lines not yet taken plus max_line + 1 bytes.

  // Bytes buffered but not yet returned (for back-pressure decisions).
  std::size_t buffered() const noexcept;

 private:
  std::size_t max_line_;
  std::string buf_;
  std::size_t start_ = 0;     // where the next line begins (bytes before it are consumed)
  std::size_t scan_ = 0;      // where the newline search resumes
  bool discarding_ = false;   // inside an oversize line, dropping until the next newline
  bool report_oversize_ = false;
  std::size_t tail_ = 0;         // where the unterminated last line begins
  std::size_t oversize_at_ = 0;  // where the pending oversize error sits among the lines
};

}  // namespace exai::codecs
