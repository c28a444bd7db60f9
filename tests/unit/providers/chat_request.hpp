// The request model behind the golden request files (tests/data/providers/requests): a system
// text, one earlier exchange and the new prompt. Shared by the unit tests, which build the
// bodies, and the integration tests, which compare what the fake provider received.
#pragma once

#include "providers/provider.hpp"

#include <string>

namespace exai::providers::test {

inline request chat(std::string model_name, std::string prompt) {
  request r;
  r.model = std::move(model_name);
  r.system = "You are a careful assistant.";
  r.messages.push_back(message::user("Earlier question"));
  r.messages.push_back(message::assistant("Earlier answer"));
  r.messages.push_back(message::user(std::move(prompt)));
  r.temperature = 0.5;
  return r;
}

}  // namespace exai::providers::test
