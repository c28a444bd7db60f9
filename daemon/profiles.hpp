// Tool profiles: the one place their names live. exai-daemon (--tools, daemon.json "tools"), the
// gateway's embedded backend (--tools, gateway.json tools.profiles) and the tool host all check
// names here. A profile is a group of tools, in the spirit of the reference's TOOL_PROFILE tiers:
//   core        status, version, listmodels (always on, whatever the list says)
//   models      the model tools: chat, challenge and the twelve workflow tools (daemon/workflow/)
//   diagnostics echo, delay, fail, blob (tests and load tests)
//   conformance the fixture tools of the official MCP conformance suite (daemon/conformance_tools)
#pragma once

#include <algorithm>
#include <array>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace exai::daemon::profiles {

inline constexpr std::string_view core = "core";
inline constexpr std::string_view models = "models";
inline constexpr std::string_view diagnostics = "diagnostics";
inline constexpr std::string_view conformance = "conformance";

inline constexpr std::array<std::string_view, 4> known = {core, models, diagnostics, conformance};

// What runs when no profile is named: the product's tools, so a bare `exai-gateway --stdio`
// offers chat (which says what to configure when no provider key is set).
inline std::vector<std::string> defaults() { return {std::string(core), std::string(models)}; }

inline bool is_known(std::string_view name) {
  return std::find(known.begin(), known.end(), name) != known.end();
}

// "core, models, diagnostics, conformance", for error messages and --help.
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

// The reference's finer switches over the tools of the profiles above (exai-tools-reference
// §1.1), read from the environment by exai-daemon and the gateway's embedded backend:
//   TOOL_PROFILE   lean (chat, planner and the core workflow tools), standard (lean plus
//                  secaudit, precommit, consensus, tracer, docgen) or full; unset: every tool of
//                  the enabled profiles (challenge is in no tier, so only full or unset has it)
//   ENABLED_TOOLS  comma-separated names: only these (after TOOL_PROFILE)
//   DISABLED_TOOLS comma-separated names: never these
// The core tools (status, version, listmodels) are always on.
struct tool_filter {
  std::string tier;  // "", "lean", "standard", "full"
  std::vector<std::string> enabled, disabled;

  static std::vector<std::string> split(const char* v) {
    std::vector<std::string> out;
    std::string cur;
    for (const char* p = v ? v : ""; ; ++p) {
      if (*p == ',' || *p == '\0') {
        while (!cur.empty() && cur.back() == ' ') cur.pop_back();
        if (!cur.empty()) out.push_back(cur);
        cur.clear();
        if (!*p) break;
      } else if (*p != ' ' || !cur.empty()) {
        cur += *p;
      }
    }
    return out;
  }

  static tool_filter from_environment() {
    tool_filter f;
    if (const char* t = std::getenv("TOOL_PROFILE")) f.tier = t;
    f.enabled = split(std::getenv("ENABLED_TOOLS"));
    f.disabled = split(std::getenv("DISABLED_TOOLS"));
    return f;
  }

  bool allows(std::string_view tool) const {
    static constexpr std::array<std::string_view, 3> always = {"status", "version", "listmodels"};
    if (std::find(always.begin(), always.end(), tool) != always.end()) return true;
    static constexpr std::array<std::string_view, 8> lean = {"chat", "planner", "analyze", "codereview", "debug",
                                                             "refactor", "testgen", "thinkdeep"};
    static constexpr std::array<std::string_view, 5> advanced = {"secaudit", "precommit", "consensus", "tracer", "docgen"};
    const bool in_lean = std::find(lean.begin(), lean.end(), tool) != lean.end();
    const bool in_adv = std::find(advanced.begin(), advanced.end(), tool) != advanced.end();
    if (tier == "lean" && !in_lean) return false;
    if (tier == "standard" && !in_lean && !in_adv) return false;
    if (!enabled.empty() && !contains(enabled, tool)) return false;
    return !contains(disabled, tool);
  }
};

}  // namespace exai::daemon::profiles
