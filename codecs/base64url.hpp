// base64url without padding (RFC 4648 §5), strict on input: no padding, no characters outside the
// URL-safe alphabet, and the unused low bits of the last character zero, so every byte string has
// exactly one spelling. Used by tools/list cursors and sealed HTTP session ids.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace exai::codecs {

std::string base64url_encode(std::string_view bytes);
// nullopt for anything that is not the canonical spelling of some byte string.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace exai::codecs
