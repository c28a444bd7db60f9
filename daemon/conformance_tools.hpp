// The `conformance` tool profile: the fixture tools the official MCP conformance suite
// (@modelcontextprotocol/conformance) calls by name, with the content its server scenarios check.
// Served by exai-daemon (or the gateway's embedded backend) so each scenario runs the real path
// through the gateway and the pool; nothing else should enable this profile.
#pragma once

#include "daemon/tool_host.hpp"

#include <vector>

namespace exai::daemon::conformance {

std::vector<tool_spec> tools();

}  // namespace exai::daemon::conformance
