// The WebSocket close codes the gateway and the daemon send and recognise: RFC 6455's and the op
// protocol's 40xx (exai-op-protocol.md section 1). Stdio ignores them; HTTP maps them to a status.
#pragma once

#include <cstdint>

namespace exai::net {

enum class ws_close_code : std::uint16_t {
  normal = 1000,
  going_away = 1001,        // shutdown
  policy_violation = 1008,  // not authorised; too many connections
  too_big = 1009,           // message over the size limit
  internal_error = 1011,
  not_json = 4000,          // first op message not JSON
  missing_hello = 4001,     // first op message not hello (also: invalid session_id, malformed hello)
  hello_timeout = 4002,     // no hello in time
  unauthorized = 4003,      // op hello with a bad token
};

}  // namespace exai::net
