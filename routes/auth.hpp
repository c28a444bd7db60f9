// Token comparison for client authentication: the one constant-time compare lives in codecs
// (codecs/token.hpp), shared with exai-daemon; routes and the WebSocket upgrade check use it here.
#pragma once

#include "codecs/token.hpp"

namespace exai::routes {

using codecs::constant_time_equal;

}  // namespace exai::routes
