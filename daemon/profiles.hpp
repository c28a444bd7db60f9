// Tool profiles: the one place their names live. exai-daemon (--tools, daemon.json "tools"), the
// gateway's embedded backend (--tools, gateway.json tools.profiles) and the tool host all check
// names here. A profile is a group of tools, in the spirit of the reference's TOOL_PROFILE tiers:
//   core        status, version, listmodels (always on, whatever the list says)
//   models      the model tools: chat, challenge (the workflow tools join it later)
//   diagnostics echo, delay, fail, blob (tests and load tests)
#pragma once

#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace exai::daemon::profiles {

inline constexpr std::string_view core = "core";
inline constexpr std::string_view models = "models";
inline constexpr std::string_view diagnostics = "diagnostics";

inline constexpr std::array<std::string_view, 3> known = {core, models, diagnostics};

// What runs when no profile is named: the product's tools, so a bare `exai-gateway --stdio`
// offers chat (which says what to configure when no provider key is set).
inline std::vector<std::string> defaults() { return {std::string(core), std::string(models)}; }

inline bool is_known(std::string_view name) {
  return std::find(known.begin(), known.end(), name) != known.end();
}

// "core, models, diagnostics", for error messages and --help.
inline std::string known_list() {
  std::string out;
  for (auto k : known) {
    if (!out.empty()) out += ", ";
    out += k;
  }
  return out;
}

inline bool contains(const std::vector<std::string>& list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

}  // namespace exai::daemon::profiles
