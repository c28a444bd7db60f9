// Names of the provider enums and the error hook of providers::result.
#include "providers/provider.hpp"

#include <stdexcept>

namespace exai::providers {

std::string_view to_string(finish_reason r) noexcept {
  switch (r) {
    case finish_reason::stop: return "stop";
    case finish_reason::length: return "length";
    case finish_reason::tool_calls: return "tool_calls";
    case finish_reason::content_filter: return "content_filter";
    case finish_reason::other: return "other";
  }
  return "other";
}

std::string_view to_string(provider_errc e) noexcept {
  switch (e) {
    case provider_errc::not_configured: return "not_configured";
    case provider_errc::unknown_model: return "unknown_model";
    case provider_errc::unsupported: return "unsupported";
    case provider_errc::auth: return "auth";
    case provider_errc::bad_request: return "bad_request";
    case provider_errc::rate_limited: return "rate_limited";
    case provider_errc::server: return "server";
    case provider_errc::network: return "network";
    case provider_errc::tls: return "tls";
    case provider_errc::timeout: return "timeout";
    case provider_errc::circuit_open: return "circuit_open";
    case provider_errc::protocol: return "protocol";
    case provider_errc::cancelled: return "cancelled";
  }
  return "unknown";
}

codecs::errc to_errc(provider_errc e) noexcept {
  switch (e) {
    case provider_errc::timeout: return codecs::errc::timeout;
    case provider_errc::cancelled: return codecs::errc::cancelled;
    default: return codecs::errc::tool_failed;
  }
}

void throw_exception_from_error(const provider_error& e, const boost::source_location&) {
  throw std::runtime_error(std::string(to_string(e.code)) + ": " + e.message);
}

}  // namespace exai::providers
