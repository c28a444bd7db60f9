// Builds the model tools' shared services from the process environment.
#include "daemon/models/services.hpp"

#include <cstdlib>

namespace exai::daemon::models {

std::shared_ptr<services> services_from_environment(boost::asio::any_io_executor ex) {
  auto s = std::make_shared<services>();
  s->registry = providers::registry::from_environment(std::move(ex));
  s->files = std::make_shared<const file_policy>(file_policy::from_environment(std::getenv("EXAI_ALLOWED_ROOTS")));
  return s;
}

}  // namespace exai::daemon::models
