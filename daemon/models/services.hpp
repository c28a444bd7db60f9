// What the model tools share: the model registry (providers and their keys), the conversation
// store and the file policy. One per process; the tool host and the core tools hold it.
#pragma once

#include "daemon/models/conversation_store.hpp"
#include "daemon/models/file_policy.hpp"
#include "providers/registry.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace exai::daemon::models {

struct services {
  std::shared_ptr<providers::registry> registry;  // null: no provider can be used (tests)
  std::shared_ptr<conversation_store> store = std::make_shared<conversation_store>();
  std::shared_ptr<const file_policy> files;       // null: every file is refused
};

// The process's services from its environment: the providers' keys and URLs (providers/README.md),
// EXAI_ALLOWED_ROOTS (default: the working directory). Providers do their I/O on `ex`.
std::shared_ptr<services> services_from_environment(boost::asio::any_io_executor ex);

// What to tell a caller when no provider can be used: the variables to set.
std::string setup_hint(const services& s);

// A model tool's own per-call budget. It is longer than a server's default call timeout (300 s)
// because an answer streams for as long as the model writes: the reference allows a streamed
// Kimi answer 600 s (KIMI_STREAM_TIMEOUT). The provider's first-byte and idle timeouts (per
// model, §2.5) end a stalled call long before this.
inline constexpr std::chrono::milliseconds model_call_budget{600'000};

}  // namespace exai::daemon::models
