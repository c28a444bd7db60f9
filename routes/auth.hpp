// Token comparison for client authentication (design.md: tokens compared in constant time, never
// logged). Shared by the op hello route and the WebSocket upgrade check.
#pragma once

#include <string_view>

namespace exai::routes {

// True when a == b; the time taken depends only on the lengths, not on where they differ.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

}  // namespace exai::routes
