// Log levels, thresholds and notifications/message (routes/logging.hpp).
#include "routes/logging.hpp"

#include "routes/era.hpp"
#include "routes/table.hpp"

#include <array>

namespace exai::routes {

namespace json = boost::json;

std::optional<int> log_severity(std::string_view level) noexcept {
  static constexpr std::array<std::string_view, 8> levels = {
      "debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"};
  for (std::size_t i = 0; i < levels.size(); ++i) {
    if (levels[i] == level) return static_cast<int>(i);
  }
  return std::nullopt;
}

std::optional<int> log_threshold(std::string_view method, const json::object& params,
                                 const session_state& session) noexcept {
  if (era::is_modern(method, params)) {
    const auto* meta = params.if_contains("_meta");
    const auto* m = meta ? meta->if_object() : nullptr;
    const auto* level = m ? m->if_contains(era::log_level_key) : nullptr;
    const auto* s = level ? level->if_string() : nullptr;
    return s ? log_severity(*s) : std::nullopt;
  }
  return session.log_level ? log_severity(*session.log_level) : std::nullopt;
}

json::object log_notification(const codecs::progress_update& u) {
  json::object params;
  params["level"] = u.log_level;
  if (!u.logger.empty()) params["logger"] = u.logger;
  params["data"] = u.log_data.is_null() ? json::value(u.message) : u.log_data;
  json::object o;
  o["jsonrpc"] = "2.0";
  o["method"] = "notifications/message";
  o["params"] = std::move(params);
  return o;
}

}  // namespace exai::routes
