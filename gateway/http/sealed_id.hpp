// Sealed Mcp-Session-Id tokens: the session's negotiated state (protocol version, client
// capabilities, expiry) carried in the id itself and signed with HMAC-SHA256. Any process holding
// the same secret (EXAI_GATEWAY_SESSION_SECRET) accepts any id another one issued, so replicas
// behind a load balancer need no shared store. Sans-I/O: no clock (callers pass `now`), no Asio.
#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace exai::gateway::http {

using wall_clock = std::chrono::system_clock;

// What a session negotiated, as carried in its id.
struct session_claims {
  std::string protocol_version;            // the initialize result's protocolVersion
  boost::json::object client_capabilities; // the client's initialize capabilities, verbatim
  wall_clock::time_point expires;          // the id is refused from this instant on (seconds)
  std::string nonce;                       // random hex: two sessions never share an id
  bool legacy_sse = false;                 // opened by GET /sse (2024-11-05 HTTP+SSE)
};

enum class seal_error {
  malformed,      // not one of our tokens (wrong shape, bad base64url, bad payload)
  bad_signature,  // the MAC does not match: tampered with, or sealed under another secret
  expired,        // genuine but past its expiry
};

// Outcome of open(): the claims, or why the token was refused. Every refusal is HTTP 404 on the
// wire (an unknown session); the distinction is for logs and tests.
struct open_result {
  std::optional<session_claims> claims;
  seal_error error = seal_error::malformed;
  explicit operator bool() const noexcept { return claims.has_value(); }
};

class session_sealer {
 public:
  // `secret`: the shared secret's bytes (any length; 32 random bytes or more is the advice).
  // Empty: a random 32-byte key for this process only (ids then die with the process).
  explicit session_sealer(std::string_view secret);

  // From the environment variable EXAI_GATEWAY_SESSION_SECRET, or random when it is unset or
  // empty. The secret is never logged; shared() says whether one was given.
  static session_sealer from_env();

  // A token of visible ASCII ([A-Za-z0-9_-] and one '.'), at most max_token_bytes long; client
  // capabilities too large to fit are replaced by an empty object (they are advisory for the
  // gateway, which serves tools only).
  std::string seal(const session_claims& c) const;

  // Checks the MAC in constant time before reading anything from the payload, then the expiry.
  open_result open(std::string_view token, wall_clock::time_point now) const;

  bool shared() const noexcept { return shared_; }

  static constexpr std::size_t max_token_bytes = 4096;

 private:
  std::string key_;
  bool shared_ = false;
};

// A fresh random nonce (16 bytes, hex) from the OpenSSL CSPRNG.
std::string random_nonce();

}  // namespace exai::gateway::http
