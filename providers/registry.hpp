// The model registry (issue 13): the model catalogue (exai-tools-reference.md §2.2), which
// providers are configured (a key in the environment), name/alias/`auto` resolution, per-model
// timeouts (§2.5), and the provider objects themselves.
#pragma once

#include "providers/provider.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace exai::providers {

struct model_info {
  std::string name;                  // canonical, as sent to the provider
  std::vector<std::string> aliases;  // matched case-insensitively, like the name
  std::string provider;              // "glm", "kimi", "minimax"
  std::uint32_t context_window = 0;  // tokens
  std::uint32_t max_output = 0;      // tokens
  bool thinking = false;             // can reason (reasoning deltas)
  bool vision = false;               // accepts images
  bool tools = false;                // accepts tool definitions (web search)
  double timeout_multiplier = 1.0;   // MODEL_TIMEOUT_MULTIPLIERS (§2.5)
  // The provider's base timeout × timeout_multiplier: the first-byte and idle timeout of a call
  // (set by the registry from the environment, see README).
  std::chrono::milliseconds timeout{30'000};
};

// The built-in catalogue, in listing order (GLM, Kimi, MiniMax).
std::span<const model_info> catalogue();

// What `listmodels` / `status` show about a provider. Never holds the key.
struct provider_status {
  std::string id;                     // "glm"
  std::string display_name;           // "ZhipuAI GLM"
  bool configured = false;            // a key variable is set (and ALLOWED_PROVIDERS allows it)
  std::string key_variable;           // the variable the key came from, or the first to set
  std::vector<std::string> key_variables;  // all accepted, in precedence order
  std::string url_variable;           // "GLM_API_URL", ...
  std::string base_url;               // in use (default or overridden)
  std::vector<std::string> models;    // its catalogue models
};

// Reads an environment variable; nullopt when unset or empty. Tests pass their own.
using env_lookup = std::function<std::optional<std::string>(std::string_view name)>;
env_lookup process_environment();

struct resolved_model {
  const model_info* model = nullptr;  // points into the catalogue
  provider* backend = nullptr;        // owned by the registry
  bool via_auto = false;              // the name was "auto" (or empty and DEFAULT_MODEL was "auto")
};

class registry {
 public:
  // Builds the registry from the environment:
  //  - keys: GLM_API_KEY then ZHIPUAI_API_KEY; KIMI_API_KEY then MOONSHOT_API_KEY;
  //    MINIMAX_M2_KEY then MINIMAX_API_KEY. Only providers with a key are active.
  //  - base URLs: GLM_API_URL (default https://api.z.ai/api/paas/v4), KIMI_API_URL
  //    (https://api.moonshot.ai/v1), MINIMAX_API_URL (https://api.minimax.io/anthropic);
  //    http:// is accepted (a local server).
  //  - DEFAULT_MODEL (default glm-4.5-flash), FAST_MODEL_DEFAULT, LONG_MODEL_DEFAULT (for auto),
  //    ALLOWED_PROVIDERS (comma list of glm,kimi,minimax; empty: all).
  //  - EXAI_PROVIDER_CA_FILE: a PEM file trusted in addition to the system store.
  //  - GLM_TIMEOUT_SECS (30), KIMI_TIMEOUT_SECS (40), MINIMAX_TIMEOUT_SECS (30): base timeouts.
  //  - EXAI_PROVIDER_MAX_CONCURRENCY (per provider, default 32), EXAI_PROVIDER_MAX_RETRIES (3).
  // Providers run their I/O on ex (one https client shared by all of them). Not thread-safe:
  // call resolve / async_complete from the thread that runs ex (the daemon's io_context), and
  // keep the registry alive until every call has returned.
  // EXAI_PROVIDER_MAX_CONCURRENCY bounds calls in flight per provider: a load test of many
  // concurrent streams must raise it (the bench's 1,000 calls need 1000).
  static std::unique_ptr<registry> from_environment(boost::asio::any_io_executor ex,
                                                    const env_lookup& env = process_environment());
  virtual ~registry() = default;

  // Resolves a model name for a call. Empty name: DEFAULT_MODEL. "auto": FAST_MODEL_DEFAULT
  // (glm-4.5-flash) if its provider is configured, else LONG_MODEL_DEFAULT
  // (kimi-k2-0905-preview), else the first configured model in catalogue order. Names and
  // aliases match case-insensitively.
  // Errors: provider_errc::unknown_model ("unknown model 'x'; available: a, b, c"),
  // provider_errc::not_configured ("model 'x' needs KIMI_API_KEY (or MOONSHOT_API_KEY); available:
  // ..."), and when no provider at all is configured, a message naming the variables to set.
  virtual result<resolved_model> resolve(std::string_view name) const = 0;

  // Every catalogue model whose provider is configured, in catalogue order.
  virtual std::vector<const model_info*> available() const = 0;
  // All three providers, configured or not, in listing order.
  virtual std::vector<provider_status> providers() const = 0;
  // The configured provider with that id, or nullptr.
  virtual provider* get(std::string_view provider_id) const = 0;

  virtual std::string default_model() const = 0;  // DEFAULT_MODEL as configured
  // "Set GLM_API_KEY (or ZHIPUAI_API_KEY), KIMI_API_KEY (or MOONSHOT_API_KEY) or MINIMAX_M2_KEY
  // (or MINIMAX_API_KEY) ..." — for tools to show when nothing is configured.
  virtual std::string setup_hint() const = 0;
};

}  // namespace exai::providers
