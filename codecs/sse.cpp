// The text/event-stream decoder and encoder (WHATWG HTML §9.2 "server-sent events"). Linear in
// the input: each byte is looked at once, and memory is bounded by the event size limit.
#include "codecs/sse.hpp"

#include <charconv>

namespace exai::codecs {

namespace {

error oversize(std::size_t limit) {
  return error(errc::message_too_large,
               "server-sent event exceeds the limit of " + std::to_string(limit) + " bytes");
}

std::string_view cut_at_newline(std::string_view s) {
  auto p = s.find_first_of("\r\n");
  return p == std::string_view::npos ? s : s.substr(0, p);
}

}  // namespace

sse_decoder::sse_decoder(std::size_t max_event) : max_event_(max_event ? max_event : 1) {}

std::size_t sse_decoder::buffered() const noexcept {
  return line_.size() + data_.size() + event_.size();
}

void sse_decoder::feed(std::string_view chunk) {
  std::size_t i = 0;
  if (skip_lf_ && !chunk.empty()) {
    if (chunk[0] == '\n') i = 1;
    skip_lf_ = false;
  }
  while (i < chunk.size()) {
    auto p = chunk.find_first_of("\r\n", i);
    std::string_view piece = chunk.substr(i, p == std::string_view::npos ? chunk.size() - i : p - i);
    if (!line_too_long_) {
      if (line_.size() + piece.size() > max_event_) {
        line_too_long_ = true;
        line_.clear();
      } else {
        line_.append(piece);
      }
    }
    if (p == std::string_view::npos) break;
    if (chunk[p] == '\r') {
      if (p + 1 < chunk.size()) {
        if (chunk[p + 1] == '\n') ++p;
      } else {
        skip_lf_ = true;
      }
    }
    i = p + 1;
    if (line_too_long_) {
      line_too_long_ = false;
      line_.clear();
      if (!discarding_) {
        discarding_ = true;
        ready_.emplace_back(oversize(max_event_));
      }
      // The oversize line is not blank, so the event it belongs to continues to be dropped.
      continue;
    }
    std::string l = std::move(line_);
    line_.clear();
    line(l);
  }
}

void sse_decoder::line(std::string_view l) {
  if (!bom_checked_) {
    bom_checked_ = true;
    if (l.starts_with("\xEF\xBB\xBF")) l.remove_prefix(3);
  }
  if (l.empty()) {
    if (discarding_) {
      discarding_ = false;
      data_.clear();
      event_.clear();
      has_data_ = false;
      retry_.reset();
      return;
    }
    dispatch();
    return;
  }
  if (l.front() == ':') {
    ++comments_;
    return;
  }
  if (discarding_) return;
  std::string_view name = l, value;
  if (auto colon = l.find(':'); colon != std::string_view::npos) {
    name = l.substr(0, colon);
    value = l.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (name == "data") {
    if (data_.size() + value.size() + 1 > max_event_) {
      discarding_ = true;
      data_.clear();
      event_.clear();
      has_data_ = false;
      ready_.emplace_back(oversize(max_event_));
      return;
    }
    data_.append(value);
    data_.push_back('\n');
    has_data_ = true;
  } else if (name == "event") {
    event_.assign(value);
  } else if (name == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
  } else if (name == "retry") {
    std::uint64_t ms = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
    if (ec == std::errc() && end == value.data() + value.size() && !value.empty()) retry_ = ms;
  }
  pending_fields_ = true;
}

void sse_decoder::dispatch() {
  pending_fields_ = false;
  if (!has_data_) {  // spec: no data, no event (the type is reset; the id persists)
    event_.clear();
    retry_.reset();
    return;
  }
  sse_event e;
  data_.pop_back();  // the "\n" after the last data line
  e.data = std::move(data_);
  e.event = std::move(event_);
  e.id = last_id_;
  e.retry = retry_;
  data_.clear();
  event_.clear();
  retry_.reset();
  has_data_ = false;
  ready_.emplace_back(std::move(e));
}

std::optional<result<sse_event>> sse_decoder::next() {
  if (ready_.empty()) return std::nullopt;
  auto r = std::move(ready_.front());
  ready_.pop_front();
  return r;
}

bool sse_decoder::finish() {
  bool cut = !line_.empty() || line_too_long_ || pending_fields_ || discarding_;
  line_.clear();
  line_too_long_ = false;
  discarding_ = false;
  data_.clear();
  event_.clear();
  has_data_ = false;
  pending_fields_ = false;
  retry_.reset();
  skip_lf_ = false;
  return cut;
}

std::string sse_encode(const sse_event& e) {
  std::string out;
  out.reserve(e.data.size() + e.event.size() + e.id.size() + 32);
  if (!e.event.empty()) {
    out += "event: ";
    out += cut_at_newline(e.event);
    out += '\n';
  }
  if (!e.id.empty()) {
    out += "id: ";
    out += cut_at_newline(e.id);
    out += '\n';
  }
  if (e.retry) {
    out += "retry: ";
    out += std::to_string(*e.retry);
    out += '\n';
  }
  std::string_view d = e.data;
  for (;;) {
    auto p = d.find_first_of("\r\n");
    out += "data: ";
    out += d.substr(0, p);
    out += '\n';
    if (p == std::string_view::npos) break;
    if (d[p] == '\r' && p + 1 < d.size() && d[p + 1] == '\n') ++p;
    d.remove_prefix(p + 1);
  }
  out += '\n';
  return out;
}

std::string sse_comment(std::string_view text) {
  std::string out = ": ";
  for (char c : text) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  out += '\n';
  return out;
}

}  // namespace exai::codecs
