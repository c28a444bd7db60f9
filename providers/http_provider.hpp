// The provider implementation shared by GLM, Kimi and MiniMax: one dialect (providers/dialect.hpp)
// over net::https_client, with retries, a circuit breaker and a concurrency limit
// (providers/resilience.hpp). The registry makes one per configured provider.
#pragma once

#include "net/https_client.hpp"
#include "providers/dialect.hpp"
#include "providers/resilience.hpp"

#include <functional>
#include <memory>
#include <string>

namespace exai::providers {

struct http_provider_options {
  dialect::flavour flavour = dialect::flavour::glm;
  std::string id;            // "glm"
  std::string display_name;  // "ZhipuAI GLM"
  std::string base_url;      // e.g. https://api.z.ai/api/paas/v4 (a trailing '/' is dropped)
  std::string api_key;       // never logged, never in an error
  retry_options retry;
  circuit_breaker::options breaker;
  std::size_t max_concurrency = 32;   // calls in flight; more wait (cancellably) for a slot
  ms connect_timeout{10'000};
  ms total_timeout{300'000};          // a whole call, retries and tool rounds included
  unsigned max_tool_rounds = 5;       // Kimi `$web_search` round trips (reference: 5)
};

// Finds a catalogue model (with its timeout set) by canonical name; nullptr when unknown.
using model_lookup = std::function<const model_info*(std::string_view)>;

std::unique_ptr<provider> make_http_provider(std::shared_ptr<net::https_client> client,
                                             http_provider_options opts, model_lookup models);

}  // namespace exai::providers
