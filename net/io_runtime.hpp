// The io_context a program runs on, with a way to discard the work still queued on it before the
// objects that work refers to are destroyed.
//
// When a program stops after a grace period, coroutine frames may still be parked on the context
// (a connection waiting for its writer, a call waiting for a tool). Destroying the context destroys
// those frames, and their destructors run code that uses whatever they point to: the tool host,
// the server, the metrics. Declared before those objects, the context would outlive them; declared
// after, it would die before the sockets and timers they own. discard_pending() breaks the tie:
// called right after run() returns, while everything is still alive, it shuts the context's
// services down, which destroys every queued handler and frame. Sockets and timers destroyed later
// are still safe (Asio's services outlive their shutdown until the context itself goes).
#pragma once

#include <boost/asio/io_context.hpp>

namespace exai::net {

class io_runtime : public boost::asio::io_context {
 public:
  using boost::asio::io_context::io_context;

  // Destroys every handler and coroutine frame still queued. Call after run() has returned; the
  // context cannot run again afterwards. Idempotent; the destructor repeats it harmlessly.
  void discard_pending() { shutdown(); }
};

}  // namespace exai::net
