// MCP logging (server/utilities/logging): the eight syslog levels, the threshold a request's log
// lines must reach, and the notifications/message they become. Legacy clients set the threshold
// per connection with logging/setLevel; a 2026-07-28 request sets it for itself in `_meta`
// (io.modelcontextprotocol/logLevel) and gets no log lines without it. Pure functions.
#pragma once

#include "codecs/model.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string_view>

namespace exai::routes {

struct session_state;

// 0 (debug) .. 7 (emergency); nullopt for a name that is not an MCP log level.
std::optional<int> log_severity(std::string_view level) noexcept;

// The threshold for one request's log lines, or nullopt when it gets none: a modern request's
// own `_meta` level, else (legacy) the level its connection set.
std::optional<int> log_threshold(std::string_view method, const boost::json::object& params,
                                 const session_state& session) noexcept;

// notifications/message for a tool's log line (u.log_level non-empty).
boost::json::object log_notification(const codecs::progress_update& u);

}  // namespace exai::routes
