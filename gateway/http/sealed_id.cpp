// Sealed session ids (gateway/http/sealed_id.hpp). Wire form: base64url(payload) "." base64url(mac)
// where payload is compact JSON {"v","c","x","n","l"} and mac = HMAC-SHA256(key, first part).
#include "gateway/http/sealed_id.hpp"

#include "codecs/base64url.hpp"
#include "codecs/token.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <cstdlib>
#include <stdexcept>

namespace exai::gateway::http {
namespace {

namespace json = boost::json;

std::string mac_of(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  const auto* ok = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                        reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                        md.data(), &len);
  if (!ok) throw std::runtime_error("HMAC-SHA256 failed");
  return std::string(reinterpret_cast<const char*>(md.data()), len);
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("the OpenSSL random generator failed");
  }
  return out;
}

std::string payload_of(const session_claims& c, bool with_capabilities) {
  json::object p;
  p["v"] = c.protocol_version;
  p["c"] = with_capabilities ? c.client_capabilities : json::object();
  p["x"] = std::chrono::duration_cast<std::chrono::seconds>(c.expires.time_since_epoch()).count();
  p["n"] = c.nonce;
  if (c.legacy_sse) p["l"] = true;
  return json::serialize(p);
}

}  // namespace

std::string random_nonce() {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : random_bytes(16)) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

session_sealer::session_sealer(std::string_view secret) {
  if (secret.empty()) {
    key_ = random_bytes(32);
  } else {
    key_ = std::string(secret);
    shared_ = true;
  }
}

session_sealer session_sealer::from_env() {
  const char* s = std::getenv("EXAI_GATEWAY_SESSION_SECRET");
  return session_sealer(s ? std::string_view(s) : std::string_view());
}

std::string session_sealer::seal(const session_claims& c) const {
  std::string body = codecs::base64url_encode(payload_of(c, true));
  // 43 characters of MAC and the dot.
  if (body.size() + 44 > max_token_bytes) body = codecs::base64url_encode(payload_of(c, false));
  std::string token = body;
  token += '.';
  token += codecs::base64url_encode(mac_of(key_, body));
  return token;
}

open_result session_sealer::open(std::string_view token, wall_clock::time_point now) const {
  open_result r;
  if (token.size() > max_token_bytes) return r;
  const auto dot = token.find('.');
  if (dot == std::string_view::npos || dot == 0) return r;
  const auto body = token.substr(0, dot);
  const auto mac = codecs::base64url_decode(token.substr(dot + 1));
  if (!mac || codecs::base64url_decode(body) == std::nullopt) return r;
  if (!codecs::constant_time_equal(mac_of(key_, body), *mac)) {
    r.error = seal_error::bad_signature;
    return r;
  }
  // Signed by us: the payload is ours, but parse it defensively all the same.
  const auto text = codecs::base64url_decode(body);
  boost::system::error_code ec;
  auto v = json::parse(*text, ec);
  const auto* o = ec ? nullptr : v.if_object();
  if (!o) return r;
  const auto* ver = o->if_contains("v");
  const auto* caps = o->if_contains("c");
  const auto* exp = o->if_contains("x");
  const auto* nonce = o->if_contains("n");
  if (!ver || !ver->is_string() || !caps || !caps->is_object() || !exp || !exp->is_int64() ||
      !nonce || !nonce->is_string()) {
    return r;
  }
  session_claims c;
  c.protocol_version = std::string(ver->get_string());
  c.client_capabilities = caps->get_object();
  c.expires = wall_clock::time_point(std::chrono::seconds(exp->get_int64()));
  c.nonce = std::string(nonce->get_string());
  if (const auto* l = o->if_contains("l"); l && l->is_bool()) c.legacy_sse = l->get_bool();
  if (now >= c.expires) {
    r.error = seal_error::expired;
    return r;
  }
  r.claims = std::move(c);
  return r;
}

}  // namespace exai::gateway::http
