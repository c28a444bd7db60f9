// Stdio line framing (mcp-server-rules.md, "stdio transport"): one JSON message per line, "\n" or
// "\r\n". Linear in the input: the newline search resumes where it stopped and consumed bytes are
// dropped only when no complete line is left.
#include "codecs/line_framer.hpp"

namespace exai::codecs {
namespace {

bool is_blank(std::string_view s) noexcept {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

error oversize(std::size_t limit) {
  return error(errc::message_too_large,
               "line exceeds the limit of " + std::to_string(limit) + " bytes");
}

}  // namespace

line_framer::line_framer(std::size_t max_line) : max_line_(max_line) {}

void line_framer::feed(std::string_view chunk) {
  if (discarding_) {
    // The rest of an oversize line: drop it without buffering, up to and including its newline.
    auto nl = chunk.find('\n');
    if (nl == std::string_view::npos) return;
    chunk.remove_prefix(nl + 1);
    discarding_ = false;
  }
  buf_.append(chunk.data(), chunk.size());
}

std::optional<result<std::string>> line_framer::next() {
  for (;;) {
    auto nl = buf_.find('\n', scan_);
    if (nl == std::string::npos) {
      scan_ = buf_.size();
      std::size_t pending = buf_.size() - start_;
      // A partial line may still end in "\r" before its "\n", which does not count.
      bool too_long = pending > max_line_ + 1 || (pending == max_line_ + 1 && buf_.back() != '\r');
      if (too_long) {
        buf_.clear();
        start_ = scan_ = 0;
        discarding_ = true;
        return result<std::string>(oversize(max_line_));
      }
      if (start_ > 0) {
        buf_.erase(0, start_);
        scan_ -= start_;
        start_ = 0;
      }
      return std::nullopt;
    }
    std::size_t begin = start_;
    std::size_t end = nl;
    if (end > begin && buf_[end - 1] == '\r') --end;
    start_ = scan_ = nl + 1;
    std::size_t len = end - begin;
    if (len > max_line_) return result<std::string>(oversize(max_line_));
    std::string_view line(buf_.data() + begin, len);
    if (is_blank(line)) continue;
    return result<std::string>(std::string(line));
  }
}

std::size_t line_framer::buffered() const noexcept { return buf_.size() - start_; }

}  // namespace exai::codecs
