// Token comparison for hello tokens and bearer tokens (design.md: tokens are compared in constant
// time and never logged). Shared by exai-daemon and the gateway.
#pragma once

#include <string_view>

namespace exai::codecs {

// True when given == expected. The time taken depends only on given's length (the loop runs over
// it whatever expected holds), so neither where a guess differs nor its length shortens the work.
bool constant_time_equal(std::string_view expected, std::string_view given) noexcept;

}  // namespace exai::codecs
