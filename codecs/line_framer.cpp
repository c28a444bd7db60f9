// Stdio line framing (mcp-server-rules.md, "stdio transport"): one JSON message per line, "\n" or
// "\r\n". Linear in the input: the newline search resumes where it stopped, and consumed bytes
// are dropped only when no complete line is left. Memory stays bounded: an unterminated line
// over the limit is dropped as soon as it is seen and the rest of it is never buffered.
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

// Whether an unterminated line is certainly over the limit: its last byte may be the "\r" of a
// "\r\n" still to come, which does not count.
bool tail_too_long(std::string_view tail, std::size_t max_line) noexcept {
  return tail.size() > max_line + 1 || (tail.size() == max_line + 1 && tail.back() != '\r');
}

}  // namespace

line_framer::line_framer(std::size_t max_line) : max_line_(max_line) {}

void line_framer::feed(std::string_view chunk) {
  if (discarding_) {
    // The rest of an oversize line: dropped without buffering, up to and including its newline.
    auto nl = chunk.find('\n');
    if (nl == std::string_view::npos) return;
    chunk.remove_prefix(nl + 1);
    discarding_ = false;
    tail_ = buf_.size();
  }
  if (auto last_nl = chunk.rfind('\n'); last_nl != std::string_view::npos) {
    tail_ = buf_.size() + last_nl + 1;
  }
  buf_.append(chunk.data(), chunk.size());
  // One pending report at a time; a second oversize tail before next() is caught by next().
  if (!report_oversize_ && tail_too_long(std::string_view(buf_).substr(tail_), max_line_)) {
    buf_.resize(tail_);
    if (scan_ > tail_) scan_ = tail_;
    discarding_ = true;
    report_oversize_ = true;
    oversize_at_ = tail_;
  }
}

std::optional<result<std::string>> line_framer::next() {
  for (;;) {
    // The dropped line's error comes after the complete lines that preceded it.
    if (report_oversize_ && start_ == oversize_at_) {
      report_oversize_ = false;
      return result<std::string>(oversize(max_line_));
    }
    auto nl = buf_.find('\n', scan_);
    if (nl == std::string::npos) {
      scan_ = buf_.size();
      if (tail_too_long(std::string_view(buf_).substr(start_), max_line_)) {
        buf_.clear();
        start_ = scan_ = tail_ = 0;
        discarding_ = true;
        return result<std::string>(oversize(max_line_));
      }
      if (start_ > 0) {  // compact only here, so each byte is moved at most once per line
        buf_.erase(0, start_);
        scan_ -= start_;
        tail_ -= start_;
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
