// The log facade (house-style 14): the only logging header the rest of the code includes.
// Boost.Log lives behind it in log.cpp. Records go to stderr (never stdout) and optionally a file.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace exai::obs {

enum class level : std::uint8_t { trace, debug, info, warn, error, off };

std::optional<level> parse_level(std::string_view s) noexcept;  // "debug", "INFO", "warning", ...
std::string_view to_string(level l) noexcept;

// A structured field. Values are formatted at once: views need only outlive the call.
struct field {
  std::string_view key;
  std::variant<std::string_view, std::int64_t, std::uint64_t, double, bool> value;

  field(std::string_view k, std::string_view v) : key(k), value(v) {}
  field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  field(std::string_view k, bool v) : key(k), value(v) {}
  field(std::string_view k, double v) : key(k), value(v) {}
  template <class I>
    requires(std::is_integral_v<I> && !std::is_same_v<I, bool>)
  field(std::string_view k, I v)
      : key(k), value(std::is_signed_v<I> ? decltype(value)(std::int64_t(v))
                                          : decltype(value)(std::uint64_t(v))) {}
};

struct log_options {
  level min_level = level::info;
  bool json = false;               // JSON lines instead of text
  std::string file;                // also write here when set
  std::uint64_t rotate_bytes = 10u * 1024 * 1024;
  unsigned keep_files = 5;
};

// Idempotent; may be called again to change options. Until called: info, text, stderr.
void init(const log_options& opts);
void set_level(level l) noexcept;
bool enabled(level l) noexcept;

// channel: "gateway", "session", "pool", "daemon", ... fields: per-request context.
void write(level l, std::string_view channel, std::string_view message,
           std::initializer_list<field> fields = {});

// For tests: capture records (formatted as JSON objects, one per record) instead of / besides
// the sinks. Returns the captured lines so far; capture stops when the guard dies.
class capture {
 public:
  capture();
  ~capture();
  capture(const capture&) = delete;
  capture& operator=(const capture&) = delete;
  std::vector<std::string> lines() const;
};

// Added for tests and tools (additive): format one record exactly as the sinks would, at a
// given time, without writing it. json=false gives the text format.
std::string format_record(bool json, std::int64_t unix_ms, level l, std::string_view channel,
                          std::string_view message, std::initializer_list<field> fields = {});

}  // namespace exai::obs

// Skip argument evaluation when the level is off.
#define EXAI_LOG(lvl, channel, msg, ...)                                     \
  do {                                                                       \
    if (::exai::obs::enabled(::exai::obs::level::lvl))                       \
      ::exai::obs::write(::exai::obs::level::lvl, channel, msg, {__VA_ARGS__}); \
  } while (0)
