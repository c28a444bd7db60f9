// Receives on a TCP socket that tell the reactor when they have emptied the socket, so the next
// receive waits for readiness instead of trying a receive that can only fail.
//
// Asio's epoll reactor starts every receive with a speculative recvmsg. After a receive came back
// short (fewer bytes than the buffer had room for) the socket's queue was empty at that moment, and
// the next speculative try nearly always fails with EAGAIN: one wasted system call per wake-up on a
// connection that sends a message and waits for the answer (every MCP client, every daemon
// connection). Asio already skips the try after a receive reports "done and exhausted" (its
// reactor does so for short sends), but in Boost 1.81 a stream receive reports it only at EOF.
// drain_aware_buffers carries a buffer sequence into the socket's receive operation and makes its
// perform step report a short receive as exhausted: the reactor then queues the next receive
// without trying it, and the next edge-triggered readiness event (epoll is registered with
// EPOLLET, and any byte arriving after the short receive raises one) performs it.
//
// Only the perform step differs from Asio's own (reactive_socket_recv_op_base), specialised for
// this buffer type; completion, cancellation and the handler are Asio's. Under a reactor that is
// not epoll's (io_uring) the specialisation is simply unused.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>        // these two before the detail header, which needs them
#include <boost/asio/socket_base.hpp>
#include <boost/asio/detail/reactive_socket_recv_op.hpp>
#include <boost/version.hpp>

#include <array>
#include <cstddef>

namespace exai::net {

// Up to max_buffers pieces of a mutable buffer sequence (a read_some may fill fewer bytes than
// offered, so pieces past the limit are simply not offered).
class drain_aware_buffers {
 public:
  using value_type = boost::asio::mutable_buffer;
  using const_iterator = const boost::asio::mutable_buffer*;
  static constexpr std::size_t max_buffers = 4;

  template <class MutableBufferSequence>
  explicit drain_aware_buffers(const MutableBufferSequence& seq) {
    for (auto it = boost::asio::buffer_sequence_begin(seq);
         it != boost::asio::buffer_sequence_end(seq) && count_ < max_buffers; ++it) {
      boost::asio::mutable_buffer b(*it);
      if (b.size() != 0) bufs_[count_++] = b;
    }
  }

  const_iterator begin() const noexcept { return bufs_.data(); }
  const_iterator end() const noexcept { return bufs_.data() + count_; }

 private:
  std::array<boost::asio::mutable_buffer, max_buffers> bufs_{};
  std::size_t count_ = 0;
};

}  // namespace exai::net

// The perform step below mirrors Boost 1.81's. Another Boost may have changed the base class or
// the reactor's statuses: compare them, then widen this check.
static_assert(BOOST_VERSION / 100 == 1081,
              "net/drain_aware_read.hpp mirrors Boost 1.81's reactive_socket_recv_op_base: "
              "check it against this Boost version before building");

namespace boost::asio::detail {

// Asio's receive step (Boost 1.81's reactive_socket_recv_op_base), except that on a stream socket
// a receive that filled less than it was offered is done_and_exhausted, as EOF is.
template <>
class reactive_socket_recv_op_base<exai::net::drain_aware_buffers> : public reactor_op {
 public:
  reactive_socket_recv_op_base(const boost::system::error_code& success_ec, socket_type socket,
                               socket_ops::state_type state,
                               const exai::net::drain_aware_buffers& buffers,
                               socket_base::message_flags flags, func_type complete_func)
      : reactor_op(success_ec, &reactive_socket_recv_op_base::do_perform, complete_func),
        socket_(socket),
        state_(state),
        buffers_(buffers),
        flags_(flags) {}

  static status do_perform(reactor_op* base) {
    auto* o = static_cast<reactive_socket_recv_op_base*>(base);
    using bufs_type =
        buffer_sequence_adapter<boost::asio::mutable_buffer, exai::net::drain_aware_buffers>;
    bufs_type bufs(o->buffers_);
    const bool stream = (o->state_ & socket_ops::stream_oriented) != 0;
    const bool finished = socket_ops::non_blocking_recv(o->socket_, bufs.buffers(), bufs.count(),
                                                        o->flags_, stream, o->ec_,
                                                        o->bytes_transferred_);
    if (!finished) return not_done;
    if (stream && !o->ec_ && o->bytes_transferred_ < bufs.total_size()) return done_and_exhausted;
    if (stream && o->bytes_transferred_ == 0) return done_and_exhausted;
    return done;
  }

 private:
  socket_type socket_;
  socket_ops::state_type state_;
  exai::net::drain_aware_buffers buffers_;
  socket_base::message_flags flags_;
};

}  // namespace boost::asio::detail
