// The built-in tools (design.md, "Interface contract"): `core` (status, version, listmodels; always
// on) and the opt-in `diagnostics` profile (echo, delay, fail, blob) that tests and load tests use.
#pragma once

#include "daemon/tool_host.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace exai::daemon::builtin {

// blob's upper bound: large enough to exercise big frames, small enough not to exhaust memory.
inline constexpr std::uint64_t max_blob_bytes = 64u * 1024 * 1024;
// delay's upper bound (1 hour).
inline constexpr std::uint64_t max_delay_ms = 3'600'000;

// `host` must outlive the tools (the host owns them). `models` (never null) is what listmodels,
// status and version report: the providers, their models, the conversations held.
std::vector<tool_spec> core_tools(const tool_host& host, std::shared_ptr<models::services> models,
                                  const std::string& server_name);
std::vector<tool_spec> diagnostics_tools();

// MCP tool annotations of a tool that changes nothing; `open_world`: it talks to the outside
// (a model provider).
boost::json::object read_only_annotations(bool open_world);

}  // namespace exai::daemon::builtin
