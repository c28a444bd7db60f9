// The registry built from the environment: which providers have keys, their base URLs and
// limits, the catalogue with per-model timeouts, and name / alias / `auto` resolution.
#include "providers/registry.hpp"

#include "providers/http_provider.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

namespace exai::providers {

namespace {

struct provider_def {
  const char* id;
  const char* display_name;
  dialect::flavour flavour;
  std::vector<std::string> key_vars;
  std::vector<std::string> url_vars;
  const char* default_url;
  const char* timeout_var;
  int default_timeout_s;
  const char* stream_timeout_var;
  int default_stream_timeout_s;
};

const std::vector<provider_def>& defs() {
  static const std::vector<provider_def> d = {
      {"glm", "ZhipuAI GLM", dialect::flavour::glm, {"GLM_API_KEY", "ZHIPUAI_API_KEY"},
       {"GLM_API_URL", "ZHIPUAI_API_URL"}, "https://api.z.ai/api/paas/v4", "GLM_TIMEOUT_SECS", 30,
       "GLM_STREAM_TIMEOUT", 300},
      {"kimi", "Moonshot Kimi", dialect::flavour::kimi, {"KIMI_API_KEY", "MOONSHOT_API_KEY"},
       {"KIMI_API_URL", "MOONSHOT_API_URL"}, "https://api.moonshot.ai/v1", "KIMI_TIMEOUT_SECS", 40,
       "KIMI_STREAM_TIMEOUT", 600},
      {"minimax", "MiniMax", dialect::flavour::minimax, {"MINIMAX_M2_KEY", "MINIMAX_API_KEY"},
       {"MINIMAX_API_URL"}, "https://api.minimax.io/anthropic", "MINIMAX_TIMEOUT_SECS", 30,
       "MINIMAX_STREAM_TIMEOUT", 300},
  };
  return d;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<long> number(const env_lookup& env, const char* name) {
  auto v = env(name);
  if (!v) return std::nullopt;
  long n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size() || n <= 0) return std::nullopt;
  return n;
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += sep;
    out += v[i];
  }
  return out;
}

std::string key_phrase(const provider_def& d) {
  return d.key_vars[0] + " (or " + d.key_vars[1] + ")";
}

provider_error error_of(provider_errc c, std::string msg) {
  provider_error e;
  e.code = c;
  e.message = std::move(msg);
  return e;
}

class env_registry final : public registry {
 public:
  env_registry(boost::asio::any_io_executor ex, const env_lookup& env) {
    auto allowed = env("ALLOWED_PROVIDERS");
    std::vector<std::string> allow;
    if (allowed) {
      std::string a = lower(*allowed);
      std::size_t pos = 0;
      while (pos <= a.size()) {
        auto comma = a.find(',', pos);
        std::string item = a.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        item.erase(std::remove_if(item.begin(), item.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); }), item.end());
        if (!item.empty()) allow.push_back(item);
        if (comma == std::string::npos) break;
        pos = comma + 1;
      }
    }
    net::https_client_options copts;
    if (auto ca = env("EXAI_PROVIDER_CA_FILE")) copts.ca_file = *ca;
    const auto max_conc = number(env, "EXAI_PROVIDER_MAX_CONCURRENCY").value_or(32);
    copts.max_connections_per_host = static_cast<std::size_t>(max_conc);
    client_ = std::make_shared<net::https_client>(ex, copts);  // throws on a bad CA file

    models_.assign(catalogue().begin(), catalogue().end());
    for (const auto& d : defs()) {
      provider_status st;
      st.id = d.id;
      st.display_name = d.display_name;
      st.key_variables = d.key_vars;
      st.key_variable = d.key_vars[0];
      std::string key;
      for (const auto& k : d.key_vars) {
        if (auto v = env(k)) {
          key = *v;
          st.key_variable = k;
          break;
        }
      }
      st.url_variable = d.url_vars[0];
      st.base_url = d.default_url;
      for (const auto& u : d.url_vars) {
        if (auto v = env(u)) {
          st.base_url = *v;
          break;
        }
      }
      const bool permitted = allow.empty() || std::find(allow.begin(), allow.end(), d.id) != allow.end();
      st.configured = !key.empty() && permitted;
      const long base_s = number(env, d.timeout_var).value_or(d.default_timeout_s);
      for (auto& m : models_) {
        if (m.provider != d.id) continue;
        st.models.push_back(m.name);
        m.timeout = ms(static_cast<std::int64_t>(static_cast<double>(base_s) * 1000.0 * m.timeout_multiplier));
      }
      if (st.configured) {
        http_provider_options o;
        o.flavour = d.flavour;
        o.id = d.id;
        o.display_name = d.display_name;
        o.base_url = st.base_url;
        o.api_key = std::move(key);
        o.max_concurrency = static_cast<std::size_t>(max_conc);
        o.total_timeout = ms(number(env, d.stream_timeout_var).value_or(d.default_stream_timeout_s) * 1000);
        if (auto r = number(env, "EXAI_PROVIDER_MAX_RETRIES")) o.retry.max_attempts = static_cast<unsigned>(*r) + 1;
        if (auto b = number(env, "EXAI_PROVIDER_RETRY_BASE_MS")) {
          o.retry.backoff = net::backoff_policy(ms(*b), ms(*b * 8));
        }
        providers_.push_back(make_http_provider(
            client_, std::move(o), [this](std::string_view name) { return find_exact(name); }));
      }
      status_.push_back(std::move(st));
    }
    default_model_ = env("DEFAULT_MODEL").value_or("glm-4.5-flash");
    fast_model_ = env("FAST_MODEL_DEFAULT").value_or("glm-4.5-flash");
    long_model_ = env("LONG_MODEL_DEFAULT").value_or("kimi-k2-0905-preview");
  }

  result<resolved_model> resolve(std::string_view name) const override {
    std::string want = name.empty() ? default_model_ : std::string(name);
    const bool is_auto = lower(want) == "auto";
    if (available().empty()) {
      return error_of(provider_errc::not_configured, "no model provider is configured. " + setup_hint());
    }
    if (is_auto) {
      for (const auto& candidate : {fast_model_, long_model_}) {
        if (const auto* m = find(candidate); m && configured(m->provider)) {
          return resolved_model{m, get(m->provider), true};
        }
      }
      const auto* m = available().front();
      return resolved_model{m, get(m->provider), true};
    }
    const model_info* m = find(want);
    if (!m) {
      return error_of(provider_errc::unknown_model,
                      "unknown model '" + want + "'. Available models: " + available_names());
    }
    if (!configured(m->provider)) {
      const auto& d = def(m->provider);
      return error_of(provider_errc::not_configured,
                      "model '" + m->name + "' needs " + key_phrase(d) +
                          " to be set. Available models: " + available_names());
    }
    return resolved_model{m, get(m->provider), false};
  }

  std::vector<const model_info*> available() const override {
    std::vector<const model_info*> out;
    for (const auto& m : models_) {
      if (configured(m.provider)) out.push_back(&m);
    }
    return out;
  }

  std::vector<provider_status> providers() const override { return status_; }

  provider* get(std::string_view id) const override {
    for (const auto& p : providers_) {
      if (p->id() == id) return p.get();
    }
    return nullptr;
  }

  std::string default_model() const override { return default_model_; }

  std::string setup_hint() const override {
    std::vector<std::string> parts;
    for (const auto& d : defs()) parts.push_back(key_phrase(d) + " for " + d.display_name);
    return "Set " + join(parts, ", ") +
           " in the environment of the daemon (base URLs: GLM_API_URL, KIMI_API_URL, MINIMAX_API_URL).";
  }

 private:
  const provider_def& def(std::string_view id) const {
    for (const auto& d : defs()) {
      if (d.id == id) return d;
    }
    return defs().front();
  }
  bool configured(std::string_view id) const {
    for (const auto& s : status_) {
      if (s.id == id) return s.configured;
    }
    return false;
  }
  const model_info* find_exact(std::string_view name) const {
    for (const auto& m : models_) {
      if (m.name == name) return &m;
    }
    return nullptr;
  }
  const model_info* find(std::string_view name) const {
    const std::string n = lower(name);
    for (const auto& m : models_) {
      if (lower(m.name) == n) return &m;
      for (const auto& a : m.aliases) {
        if (lower(a) == n) return &m;
      }
    }
    return nullptr;
  }
  std::string available_names() const {
    std::vector<std::string> names;
    for (const auto* m : available()) names.push_back(m->name);
    return join(names, ", ");
  }

  std::shared_ptr<net::https_client> client_;
  std::vector<model_info> models_;
  std::vector<provider_status> status_;
  std::vector<std::unique_ptr<provider>> providers_;
  std::string default_model_, fast_model_, long_model_;
};

}  // namespace

env_lookup process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (!v || !*v) return std::nullopt;
    return std::string(v);
  };
}

std::unique_ptr<registry> registry::from_environment(boost::asio::any_io_executor ex,
                                                     const env_lookup& env) {
  return std::make_unique<env_registry>(std::move(ex), env);
}

}  // namespace exai::providers
