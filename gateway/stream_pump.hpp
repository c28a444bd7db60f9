// Serving a session over one message transport (stdio, WebSocket, memory in tests): the transport's
// write half becomes an outbound with its own writer, and one read loop hands each frame to the
// session with that outbound. The session itself never sees the transport.
#pragma once

#include "gateway/outbound.hpp"
#include "gateway/session.hpp"
#include "gateway/transport.hpp"

#include <boost/asio/awaitable.hpp>

#include <memory>

namespace exai::gateway {

// An outbound that writes through `transport`: a queue drained by one writer coroutine, several
// messages per write when they are waiting (message_transport::async_write_messages), bounded so a
// long backlog still yields between writes. close() ends the transport with the code once the
// queue is written; abort() gives up on the pending write (message_transport::abort_writes). The
// writer holds the transport until it has closed it. Never full: the session bounds its queue.
std::shared_ptr<outbound> make_transport_outbound(std::shared_ptr<message_transport> transport);

// What the pump tells the session when reading ends.
struct pump_policy {
  loss_policy on_eof = loss_policy::cancel;    // the peer finished sending
  loss_policy on_error = loss_policy::cancel;  // the read failed
};

// The policy a transport asks for: a peer that may still read after it stopped sending (stdio)
// gets loss_policy::grace on EOF; any other ending cancels.
pump_policy pump_policy_for(const message_transport& transport) noexcept;

// Reads frames from `transport` and delivers them to `s` with `replies` (also made the session's
// notification stream), one at a time, waiting for room (back-pressure) after each read: the next
// frame waits in hand, and a read is pending whenever the session is not full, so a peer that
// disconnects is noticed at once. Stops when the session takes no more from `replies` or the read
// ends; then ends the session (session::async_end) with the policy for how reading ended. On
// return the session has drained. Never throws. Cancellation: none; close the session instead.
boost::asio::awaitable<void> async_pump(std::shared_ptr<message_transport> transport,
                                        std::shared_ptr<session> s,
                                        std::shared_ptr<outbound> replies, pump_policy policy);

// The same with an outbound made by make_transport_outbound and the transport's own policy.
boost::asio::awaitable<void> async_pump(std::shared_ptr<message_transport> transport,
                                        std::shared_ptr<session> s);

}  // namespace exai::gateway
