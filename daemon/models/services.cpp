// The model tools' setup hint (services_from_environment is in services_env.cpp, so that code
// built with its own registry does not link the providers' HTTP stack).
#include "daemon/models/services.hpp"

namespace exai::daemon::models {

std::string setup_hint(const services& s) {
  if (s.registry) return s.registry->setup_hint();
  return "No model provider is configured: set GLM_API_KEY (or ZHIPUAI_API_KEY), KIMI_API_KEY (or "
         "MOONSHOT_API_KEY) or MINIMAX_M2_KEY (or MINIMAX_API_KEY) in the environment of the process "
         "that runs the tools, then restart it.";
}

}  // namespace exai::daemon::models
