// The text the workflow engine sends to models and returns to the calling assistant, shared by
// all twelve tools (each tool's own texts are in tools.cpp). Written for this project. Tests
// compare the requests that carry it with golden files (tests/data/workflow/).
#pragma once

#include <string_view>

namespace exai::daemon::workflow::texts {

// Appended to every expert role: the shape of the answer the engine parses.
inline constexpr std::string_view expert_format =
    "\n\nAnswer with one JSON object and nothing else:\n"
    "{\"analysis\": \"<your assessment in a few paragraphs>\",\n"
    " \"key_findings\": [{\"finding\": \"...\", \"severity\": \"critical|high|medium|low\", \"location\": \"file:line or symbol\"}],\n"
    " \"recommendations\": [\"<concrete next action>\"],\n"
    " \"confidence\": \"low|medium|high\",\n"
    " \"needs_more_info\": false,\n"
    " \"additional_context\": \"<what you could not check, or null>\"}\n"
    "If you cannot judge without more files, answer {\"status\": \"files_required_to_continue\", "
    "\"mandatory_instructions\": \"<what to send>\", \"files_needed\": [\"<path>\"]} instead.";

// Before the relevant files' text in the expert request.
inline constexpr std::string_view files_heading = "\n=== Relevant files ===\n";

// The last line of the expert request.
inline constexpr std::string_view expert_closing =
    "\nReview the investigation above: confirm what holds, correct what does not, add what was "
    "missed. Answer in the JSON format of your instructions.";

// Returned with the expert's answer.
inline constexpr std::string_view expert_caveat =
    "The expert model saw only what the investigation recorded and the files it was sent. Check its "
    "claims against the code before acting on them, and say which ones you verified.";

// consensus: the role every consulted model gets, then its stance.
inline constexpr std::string_view consensus_role =
    "You are one of several models asked to evaluate a proposal. Judge it on technical merit, "
    "feasibility, cost, risk and fit with the user's goals. Give a verdict first (one sentence), "
    "then your reasons, the main risks and what would change your mind. Be concrete and brief.";

inline constexpr std::string_view stance_for =
    "\n\nYour stance: argue FOR the proposal. Build the strongest honest case for it, but do not "
    "hide a flaw that would make it a bad idea.";
inline constexpr std::string_view stance_against =
    "\n\nYour stance: argue AGAINST the proposal. Look hard for flaws, costs and better "
    "alternatives, but concede what is genuinely good about it.";
inline constexpr std::string_view stance_neutral =
    "\n\nYour stance: neutral. Weigh the arguments on both sides evenly.";

constexpr std::string_view stance(std::string_view s) {
  return s == "for" ? stance_for : s == "against" ? stance_against : stance_neutral;
}

}  // namespace exai::daemon::workflow::texts
