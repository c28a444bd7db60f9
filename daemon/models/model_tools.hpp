// The model tools of the `models` profile (daemon/profiles.hpp): chat (one model call, with
// files, images, web search, thinking and conversation memory) and challenge (no model).
#pragma once

#include "daemon/tool_host.hpp"

#include <memory>
#include <vector>

namespace exai::daemon::models {

struct services;

// chat and challenge, sharing `s`.
std::vector<tool_spec> model_tools(std::shared_ptr<services> s);

// The model tools' own call budgets by name (tool_spec::call_timeout), for a gateway that reaches
// them through a daemon and so cannot read their specs.
std::vector<std::pair<std::string, std::chrono::milliseconds>> model_tool_budgets();

}  // namespace exai::daemon::models
