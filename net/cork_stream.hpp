// A pass-through stream layer for websocket::stream that holds writes while "corked" and sends
// them with the next uncorked write, so a writer draining several queued messages pays one
// sendmsg instead of one per frame (a syscall per frame was the largest cost when profiled).
// Used by the gateway's client transport, the pool's upstream transport and exai-daemon's
// connections, through async_write_corked below.
#pragma once

#include "net/drain_aware_read.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <boost/system/error_code.hpp>

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

namespace exai::net {

// Ordering is exact and nothing stays behind:
// - while corked, a write is copied into `pending_` and completes (posted, never inline) with
//   every byte accepted;
// - any write while uncorked sends `pending_` first, in the same gather write, and its own bytes
//   after it; so the first uncorked write flushes, whoever makes it (the writer's last message of
//   a batch, or a pong/close Beast sends itself);
// - teardown sends whatever is pending before it shuts the socket down.
// A corked section must therefore end with an uncorked write (the owning transport writes the
// last message of a batch uncorked, scope-guarded); websocket::stream serialises all writes
// (its write block), so there is never more than one write in this layer at a time.
// The read side passes reads on (to a TCP socket as drain-aware receives), or, switched to
// frame-aligned reads, serves them from its own receive buffer one frame at a time.
template <class NextLayer>
class cork_stream {
 public:
  using next_layer_type = NextLayer;
  using executor_type = typename NextLayer::executor_type;

  template <class... Args>
  explicit cork_stream(Args&&... args) : next_(std::forward<Args>(args)...) {}

  executor_type get_executor() noexcept { return next_.get_executor(); }
  NextLayer& next_layer() noexcept { return next_; }
  const NextLayer& next_layer() const noexcept { return next_; }

  void cork() noexcept { corked_ = true; }
  void uncork() noexcept { corked_ = false; }
  bool corked() const noexcept { return corked_; }
  std::size_t pending_bytes() const noexcept { return pending_.size(); }

  // Frame-aligned reads, for a WebSocket server whose peer sends many small messages (exai-daemon's
  // op connections): once switched on (after the upgrade, when the next byte begins a frame), the
  // layer receives into a buffer of its own, up to read_block bytes a receive, and hands the
  // websocket stream at most the rest of the current frame per read. The stream's own read
  // buffer then never holds the start of the next message, so every read for a message begins
  // here, and a read that the buffered bytes can serve completes inline (bounded by
  // max_inline_reads nested completions, then one post): all the messages one receive brought
  // in are delivered in the same turn of the event loop, not one per turn. Only the frame
  // lengths are looked at (RFC 6455 §5.2); everything else is left to the websocket stream.
  void frame_aligned_reads(bool on) noexcept { frames_ = on; }

  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& b, boost::system::error_code& ec) {
    if (!frames_) return next_.read_some(b, ec);
    ec = {};
    while (!frame_ready()) {
      const std::size_t n = next_.read_some(in_.prepare(read_block), ec);
      in_.commit(n);
      if (ec) return 0;
    }
    return serve(b);
  }
  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& b) {
    boost::system::error_code ec;
    auto n = read_some(b, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

  // On a TCP socket a receive that empties the socket lets the next one wait for readiness
  // without a speculative try (net/drain_aware_read.hpp); any other next layer reads as it does.
  // Frame-aligned: served from the layer's buffer when it holds bytes of the current frame.
  template <class MutableBufferSequence, class ReadToken>
  auto async_read_some(const MutableBufferSequence& b, ReadToken&& token) {
    return boost::asio::async_initiate<ReadToken, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const MutableBufferSequence& buffers) {
          if (!frames_) {
            receive(buffers, std::move(handler));
            return;
          }
          const bool empty = boost::asio::buffer_size(buffers) == 0;
          if (empty || frame_ready()) {
            const std::size_t n = empty ? 0 : serve(buffers);
            auto ex = boost::asio::get_associated_executor(handler, next_.get_executor());
            auto done = boost::beast::bind_front_handler(std::move(handler), boost::system::error_code{}, n);
            if (inline_depth_ < max_inline_reads) {
              ++inline_depth_;
              struct leave {
                int& d;
                ~leave() { --d; }
              } guard{inline_depth_};
              boost::asio::dispatch(ex, std::move(done));
            } else {
              boost::asio::post(ex, std::move(done));
            }
            return;
          }
          boost::asio::async_compose<decltype(handler), void(boost::system::error_code, std::size_t)>(
              frame_read_op<MutableBufferSequence>{*this, buffers}, handler, next_);
        },
        token, b);
  }

  // Synchronous writes ignore the cork (nothing in the project uses them); they flush first.
  template <class ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& b, boost::system::error_code& ec) {
    if (!flush_sync(ec)) return 0;
    return next_.write_some(b, ec);
  }
  template <class ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& b) {
    boost::system::error_code ec;
    auto n = write_some(b, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

  template <class ConstBufferSequence, class WriteToken>
  auto async_write_some(const ConstBufferSequence& b, WriteToken&& token) {
    return boost::asio::async_initiate<WriteToken, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const ConstBufferSequence& buffers) {
          if (!corked_ && pending_.size() == 0) {
            next_.async_write_some(buffers, std::move(handler));  // the common, uncoalesced case
            return;
          }
          assert(!writing_);  // websocket::stream never has two writes in flight
          const std::size_t n = boost::asio::buffer_size(buffers);
          auto dest = pending_.prepare(n);
          pending_.commit(boost::asio::buffer_copy(dest, buffers));
          boost::asio::async_compose<decltype(handler),
                                     void(boost::system::error_code, std::size_t)>(
              write_op{*this, n, !corked_}, handler, next_);
        },
        token, b);
  }

  // Teardown (websocket close): what is pending goes out first (a close reply sent while a batch
  // was being corked, say), then the next layer's own teardown.
  friend void teardown(boost::beast::role_type role, cork_stream& s,
                       boost::system::error_code& ec) {
    if (!s.flush_sync(ec)) return;
    using boost::beast::websocket::teardown;
    teardown(role, s.next_, ec);
  }

  template <class TeardownHandler>
  friend void async_teardown(boost::beast::role_type role, cork_stream& s,
                             TeardownHandler&& handler) {
    boost::asio::async_compose<TeardownHandler, void(boost::system::error_code)>(
        teardown_op{s, role}, handler, s.next_);
  }

 private:
  struct write_op {
    cork_stream& s;
    std::size_t n;   // the caller's bytes (already copied into pending_)
    bool flush;      // uncorked: send pending_ now; corked: just complete
    bool started = false;

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}, std::size_t = 0) {
      if (!started) {
        started = true;
        if (flush) {
          s.writing_ = true;
          boost::asio::async_write(s.next_, s.pending_.data(), std::move(self));
        } else {
          boost::asio::post(s.next_.get_executor(), std::move(self));
        }
        return;
      }
      if (flush) {
        s.writing_ = false;
        s.release_pending();  // sent, or the stream failed (it is unusable then either way)
      }
      self.complete(ec, ec ? 0 : n);
    }
  };

  struct teardown_op {
    cork_stream& s;
    boost::beast::role_type role;
    int state = 0;

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}, std::size_t = 0) {
      switch (state) {
        case 0:
          state = 1;
          s.corked_ = false;
          if (s.pending_.size() != 0 && !s.writing_) {
            state = 2;
            s.writing_ = true;
            boost::asio::async_write(s.next_, s.pending_.data(), std::move(self));
            return;
          }
          [[fallthrough]];
        case 1:
        case 2:
          if (state == 2) {  // our flush is done; a failed one does not stop the teardown
            s.writing_ = false;
            s.release_pending();
          }
          state = 3;
          {
            using boost::beast::websocket::async_teardown;
            async_teardown(role, s.next_, std::move(self));
          }
          return;
        default:
          self.complete(ec);
      }
    }
  };

  bool flush_sync(boost::system::error_code& ec) {
    ec = {};
    if (pending_.size() == 0) return true;
    boost::asio::write(next_, pending_.data(), ec);
    release_pending();
    return !ec;
  }

  // Keeps a batch-sized buffer for the next batch, not the largest message ever coalesced.
  void release_pending() {
    pending_.clear();
    if (pending_.capacity() > max_kept_bytes) pending_.shrink_to_fit();
  }

  // Receives into in_ until the current frame can be served, then serves it (a completion
  // after a receive, so never inline in the initiating call).
  template <class MutableBufferSequence>
  struct frame_read_op {
    cork_stream& s;
    MutableBufferSequence buffers;
    bool receiving = false;

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}, std::size_t n = 0) {
      if (receiving) {
        receiving = false;
        s.in_.commit(n);
      }
      if (s.frame_ready()) {
        self.complete({}, s.serve(buffers));
        return;
      }
      if (ec) {
        self.complete(ec, 0);
        return;
      }
      receiving = true;
      s.receive(s.in_.prepare(read_block), std::move(self));
    }
  };

  template <class MutableBufferSequence, class Handler>
  void receive(const MutableBufferSequence& into, Handler&& h) {
    if constexpr (std::is_same_v<NextLayer, boost::asio::basic_stream_socket<boost::asio::ip::tcp, executor_type>>) {
      next_.async_read_some(drain_aware_buffers(into), std::forward<Handler>(h));
    } else {
      next_.async_read_some(into, std::forward<Handler>(h));
    }
  }

  // True when in_ holds bytes of the current frame (its header is complete, so its length is
  // known).
  bool frame_ready() noexcept {
    const std::size_t have = in_.size();
    if (have == 0) return false;
    if (frame_left_ > 0) return true;
    const auto* p = static_cast<const unsigned char*>(in_.data().data());
    if (have < 2) return false;
    const unsigned len7 = p[1] & 0x7fu;
    const std::size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    const std::size_t head = 2 + ext + ((p[1] & 0x80u) ? 4 : 0);
    if (have < head) return false;
    std::uint64_t len = len7;
    if (ext) {
      len = 0;
      for (std::size_t i = 0; i < ext; ++i) len = (len << 8) | p[2 + i];
    }
    const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() - head;
    frame_left_ = head + (len > limit ? limit : len);
    return true;
  }

  // Copies what the current frame has buffered (at most what `b` holds) and consumes it.
  template <class MutableBufferSequence>
  std::size_t serve(const MutableBufferSequence& b) {
    const std::size_t cap = static_cast<std::size_t>(
        std::min<std::uint64_t>(frame_left_, std::min(in_.size(), boost::asio::buffer_size(b))));
    const std::size_t n = boost::asio::buffer_copy(b, in_.data(), cap);
    in_.consume(n);
    frame_left_ -= n;
    if (in_.size() == 0 && in_.capacity() > max_kept_bytes) in_.shrink_to_fit();
    return n;
  }

  static constexpr std::size_t max_kept_bytes = 64 * 1024;
  static constexpr std::size_t read_block = 64 * 1024;
  static constexpr int max_inline_reads = 64;

  NextLayer next_;
  boost::beast::flat_buffer pending_;
  bool corked_ = false;
  bool writing_ = false;
  bool frames_ = false;
  int inline_depth_ = 0;
  std::uint64_t frame_left_ = 0;   // bytes of the current frame (header included) not yet served
  boost::beast::flat_buffer in_;   // received, not yet served (frame-aligned reads only)
};

// Writes `texts` as messages on a websocket::stream<cork_stream<...>>, in order, as one send: all
// but the last corked (framed and copied, no syscall), the last uncorked, carrying them all in
// one gather write; a frame Beast makes meanwhile (a pong) joins the batch in order. The layer is
// uncorked on every way out. An error ends the batch (and, for the caller, the connection).
template <class WebSocketStream>
boost::asio::awaitable<boost::system::error_code> async_write_corked(
    WebSocketStream& ws, std::span<const std::string> texts) {
  constexpr auto nothrow = boost::asio::as_tuple(boost::asio::use_awaitable);
  if (texts.empty()) co_return boost::system::error_code{};
  auto& layer = ws.next_layer();
  struct uncork_on_exit {
    std::remove_reference_t<decltype(layer)>& l;
    ~uncork_on_exit() { l.uncork(); }
  } guard{layer};
  layer.cork();
  for (std::size_t i = 0; i + 1 < texts.size(); ++i) {
    auto [ec, n] = co_await ws.async_write(boost::asio::buffer(texts[i]), nothrow);
    if (ec) co_return ec;
  }
  layer.uncork();
  auto [ec, n] = co_await ws.async_write(boost::asio::buffer(texts.back()), nothrow);
  co_return ec;
}

}  // namespace exai::net
