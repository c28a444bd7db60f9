// The log facade's implementation (house-style 14): formats each record once (text or JSON lines)
// and hands the line to Boost.Log sinks on stderr and an optional size-rotated file. Test
// captures see every enabled record as JSON, whatever the sinks are.
#include "observability/log.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>

#include <boost/core/null_deleter.hpp>
#include <boost/log/core.hpp>
#include <boost/log/sinks/sync_frontend.hpp>
#include <boost/log/sinks/text_file_backend.hpp>
#include <boost/log/sinks/text_ostream_backend.hpp>
#include <boost/log/sources/logger.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/utility/exception_handler.hpp>

namespace exai::obs {
namespace {

namespace blog = boost::log;

std::atomic<std::uint8_t> g_min_level{static_cast<std::uint8_t>(level::info)};
std::atomic<bool> g_json{false};
std::atomic<bool> g_sinks_ready{false};

// Everything below is reached through functions returning intentionally leaked objects, so that
// logging from other static destructors stays safe.
std::mutex& config_mutex() {
  static auto* m = new std::mutex;
  return *m;
}

blog::sources::logger_mt& source() {
  static auto* lg = new blog::sources::logger_mt;
  return *lg;
}

struct capture_registry {
  std::mutex mu;
  std::atomic<int> active{0};
  std::map<const capture*, std::vector<std::string>> buffers;
};

capture_registry& captures() {
  static auto* r = new capture_registry;
  return *r;
}

// --- formatting ------------------------------------------------------------------------------

void append_timestamp(std::string& out, std::int64_t unix_ms) {
  std::int64_t secs = unix_ms / 1000;
  std::int64_t milli = unix_ms % 1000;
  if (milli < 0) {
    milli += 1000;
    secs -= 1;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                        utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                        static_cast<int>(milli));
  out.append(buf, static_cast<std::size_t>(n));
}

template <class T>
void append_number(std::string& out, T v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// Keys whose values never reach a sink. Tokens are never passed to the logger in the first place
// (design.md: "never logged"); this is only a defence in depth should one slip through.
bool is_secret_key(std::string_view key) noexcept {
  auto iequals = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      char c = a[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != b[i]) return false;
    }
    return true;
  };
  for (std::string_view s : {"token", "authorization", "password", "secret"}) {
    if (iequals(key, s)) return true;
    // Also "ws_token", "client_secret", ...
    if (key.size() > s.size() + 1 && (key[key.size() - s.size() - 1] == '_' ||
                                      key[key.size() - s.size() - 1] == '-') &&
        iequals(key.substr(key.size() - s.size()), s))
      return true;
  }
  return false;
}

constexpr std::string_view redacted = "***";

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not valid (RFC 3629:
// no overlongs, no surrogates, nothing above U+10FFFF).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept {
  auto u = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = u(i);
  std::size_t rest = s.size() - i;
  auto cont = [&](std::size_t k) { return (u(k) & 0xC0) == 0x80; };
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return rest >= 2 && cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (rest < 3 || !cont(i + 1) || !cont(i + 2)) return 0;
    if (c == 0xE0 && u(i + 1) < 0xA0) return 0;   // overlong
    if (c == 0xED && u(i + 1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (rest < 4 || !cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    if (c == 0xF0 && u(i + 1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && u(i + 1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

// A JSON string (RFC 8259 section 7). Invalid UTF-8 (say, bytes from a peer) becomes U+FFFD so
// that every line stays parseable.
void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      std::size_t n = utf8_sequence_length(s, i);
      if (n == 0) {
        out.append("\xEF\xBF\xBD");
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      default:
        if (c < 0x20 || c == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out.append(buf);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
}

// Text format: one record is one line, so control characters are escaped C-style.
void append_text_escaped(std::string& out, std::string_view s, bool in_quotes) {
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      case '\\':
        if (in_quotes) out.append("\\\\");
        else out.push_back('\\');
        break;
      case '"':
        if (in_quotes) out.append("\\\"");
        else out.push_back('"');
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out.append(buf);
        } else {
          out.push_back(ch);
        }
    }
  }
}

bool needs_quotes(std::string_view s) noexcept {
  if (s.empty()) return true;
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7F || c == '"' || c == '=' || c == '\\') return true;
  }
  return false;
}

std::string_view upper_name(level l) noexcept {
  switch (l) {
    case level::trace: return "TRACE";
    case level::debug: return "DEBUG";
    case level::info: return "INFO";
    case level::warn: return "WARN";
    case level::error: return "ERROR";
    case level::off: return "OFF";
  }
  return "?";
}

void append_text_value(std::string& out, const field& f) {
  if (is_secret_key(f.key)) {
    out.append(redacted);
    return;
  }
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string_view>) {
          if (needs_quotes(v)) {
            out.push_back('"');
            append_text_escaped(out, v, true);
            out.push_back('"');
          } else {
            append_text_escaped(out, v, false);
          }
        } else if constexpr (std::is_same_v<T, bool>) {
          out.append(v ? "true" : "false");
        } else {
          append_number(out, v);  // doubles: shortest round-trip form; "inf"/"nan" as is
        }
      },
      f.value);
}

void append_json_value(std::string& out, const field& f) {
  if (is_secret_key(f.key)) {
    append_json_string(out, redacted);
    return;
  }
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string_view>) {
          append_json_string(out, v);
        } else if constexpr (std::is_same_v<T, bool>) {
          out.append(v ? "true" : "false");
        } else if constexpr (std::is_same_v<T, double>) {
          if (std::isfinite(v)) append_number(out, v);
          else out.append("null");  // JSON has no NaN or infinity
        } else {
          append_number(out, v);
        }
      },
      f.value);
}

bool is_reserved_json_key(std::string_view k) noexcept {
  return k == "ts" || k == "level" || k == "channel" || k == "msg";
}

std::string format_text(std::int64_t unix_ms, level l, std::string_view channel,
                        std::string_view message, std::initializer_list<field> fields) {
  std::string out;
  out.reserve(64 + message.size() + fields.size() * 24);
  append_timestamp(out, unix_ms);
  out.push_back(' ');
  std::string_view lv = upper_name(l);
  out.append(lv);
  out.append(6 - std::min<std::size_t>(lv.size(), 5), ' ');  // "INFO  ", "ERROR "
  append_text_escaped(out, channel, false);
  out.append(": ");
  append_text_escaped(out, message, false);
  for (const field& f : fields) {
    out.push_back(' ');
    append_text_escaped(out, f.key, false);
    out.push_back('=');
    append_text_value(out, f);
  }
  return out;
}

std::string format_json(std::int64_t unix_ms, level l, std::string_view channel,
                        std::string_view message, std::initializer_list<field> fields) {
  std::string out;
  out.reserve(96 + message.size() + fields.size() * 28);
  out.append("{\"ts\":\"");
  append_timestamp(out, unix_ms);
  out.append("\",\"level\":");
  append_json_string(out, to_string(l));
  out.append(",\"channel\":");
  append_json_string(out, channel);
  out.append(",\"msg\":");
  append_json_string(out, message);
  for (const field& f : fields) {
    out.push_back(',');
    // A field may not shadow the record's own keys: it is kept, under "_<key>".
    if (is_reserved_json_key(f.key)) append_json_string(out, std::string("_").append(f.key));
    else append_json_string(out, f.key);
    out.push_back(':');
    append_json_value(out, f);
  }
  out.push_back('}');
  return out;
}

// --- sinks -----------------------------------------------------------------------------------

using stderr_sink = blog::sinks::synchronous_sink<blog::sinks::text_ostream_backend>;
using file_sink = blog::sinks::synchronous_sink<blog::sinks::text_file_backend>;

// Replaces the sinks. Boost.Log's own default sink writes to stdout, which the stdio transport
// owns, so a stderr sink is always installed before the first record (issue 6).
void install_sinks(const log_options& opts) {
  auto core = blog::core::get();

  boost::shared_ptr<file_sink> file;
  if (!opts.file.empty()) {
    namespace fs = std::filesystem;
    fs::path active(opts.file);
    {
      // Fail at startup with a clear message rather than at the first record.
      std::ofstream probe(active, std::ios::app);
      if (!probe) throw std::runtime_error("cannot open log file for appending: " + opts.file);
    }
    fs::path dir = active.has_parent_path() ? active.parent_path() : fs::path(".");
    // Rotated files are named <stem>.<N><ext> next to the active one: gateway.0.log, ...
    fs::path rotated = dir / (active.stem().string() + ".%N" + active.extension().string());
    auto backend = boost::make_shared<blog::sinks::text_file_backend>(
        blog::keywords::file_name = active.string(),
        blog::keywords::target_file_name = rotated.filename().string(),
        blog::keywords::rotation_size = opts.rotate_bytes == 0 ? std::uint64_t(-1) : opts.rotate_bytes,
        blog::keywords::open_mode = std::ios::out | std::ios::app,
        blog::keywords::enable_final_rotation = false, blog::keywords::auto_flush = true);
    backend->set_file_collector(blog::sinks::file::make_collector(
        blog::keywords::target = dir.string(),
        blog::keywords::max_files = opts.keep_files == 0 ? 1u : opts.keep_files));
    backend->scan_for_files(blog::sinks::file::scan_matching, true);
    file = boost::make_shared<file_sink>(backend);
  }

  auto err_backend = boost::make_shared<blog::sinks::text_ostream_backend>();
  err_backend->add_stream(boost::shared_ptr<std::ostream>(&std::cerr, boost::null_deleter()));
  err_backend->auto_flush(true);
  auto err = boost::make_shared<stderr_sink>(err_backend);

  core->remove_all_sinks();
  core->add_sink(err);
  if (file) core->add_sink(file);
  // A full disk or a vanished log directory must not take the gateway down.
  core->set_exception_handler(blog::make_exception_suppressor());
  g_json.store(opts.json, std::memory_order_relaxed);
  g_sinks_ready.store(true, std::memory_order_release);
}

void ensure_sinks() {
  if (g_sinks_ready.load(std::memory_order_acquire)) return;
  std::lock_guard lk(config_mutex());
  if (g_sinks_ready.load(std::memory_order_relaxed)) return;
  log_options defaults;
  defaults.json = g_json.load(std::memory_order_relaxed);
  install_sinks(defaults);
}

std::int64_t now_unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::optional<level> parse_level(std::string_view s) noexcept {
  std::string lower;
  if (s.size() > 16) return std::nullopt;
  for (char c : s) lower.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  if (lower == "trace") return level::trace;
  if (lower == "debug") return level::debug;
  if (lower == "info") return level::info;
  if (lower == "warn" || lower == "warning") return level::warn;
  if (lower == "error") return level::error;
  if (lower == "off") return level::off;
  return std::nullopt;
}

std::string_view to_string(level l) noexcept {
  switch (l) {
    case level::trace: return "trace";
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warn: return "warn";
    case level::error: return "error";
    case level::off: return "off";
  }
  return "?";
}

void init(const log_options& opts) {
  std::lock_guard lk(config_mutex());
  install_sinks(opts);
  set_level(opts.min_level);
}

void set_level(level l) noexcept {
  g_min_level.store(static_cast<std::uint8_t>(l), std::memory_order_relaxed);
}

bool enabled(level l) noexcept {
  return l != level::off &&
         static_cast<std::uint8_t>(l) >= g_min_level.load(std::memory_order_relaxed);
}

std::string format_record(bool json, std::int64_t unix_ms, level l, std::string_view channel,
                          std::string_view message, std::initializer_list<field> fields) {
  return json ? format_json(unix_ms, l, channel, message, fields)
              : format_text(unix_ms, l, channel, message, fields);
}

void write(level l, std::string_view channel, std::string_view message,
           std::initializer_list<field> fields) {
  if (!enabled(l)) return;
  ensure_sinks();
  const std::int64_t ts = now_unix_ms();
  const bool json = g_json.load(std::memory_order_relaxed);
  std::string line = json ? format_json(ts, l, channel, message, fields)
                          : format_text(ts, l, channel, message, fields);

  auto& caps = captures();
  if (caps.active.load(std::memory_order_acquire) > 0) {
    std::string as_json = json ? line : format_json(ts, l, channel, message, fields);
    std::lock_guard lk(caps.mu);
    for (auto& [owner, buf] : caps.buffers) buf.push_back(as_json);
  }

  auto& lg = source();
  if (auto rec = lg.open_record()) {
    blog::record_ostream strm(rec);
    strm << line;
    strm.flush();
    lg.push_record(std::move(rec));
  }
}

capture::capture() {
  auto& caps = captures();
  std::lock_guard lk(caps.mu);
  caps.buffers.emplace(this, std::vector<std::string>{});
  caps.active.fetch_add(1, std::memory_order_release);
}

capture::~capture() {
  auto& caps = captures();
  std::lock_guard lk(caps.mu);
  caps.buffers.erase(this);
  caps.active.fetch_sub(1, std::memory_order_release);
}

std::vector<std::string> capture::lines() const {
  auto& caps = captures();
  std::lock_guard lk(caps.mu);
  auto it = caps.buffers.find(this);
  return it == caps.buffers.end() ? std::vector<std::string>{} : it->second;
}

}  // namespace exai::obs
