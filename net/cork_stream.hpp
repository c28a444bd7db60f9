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
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <boost/system/error_code.hpp>

#include <cassert>
#include <cstddef>
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
// The read side only passes reads on (to a TCP socket as drain-aware receives).
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

  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& b, boost::system::error_code& ec) {
    return next_.read_some(b, ec);
  }
  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& b) {
    return next_.read_some(b);
  }

  // On a TCP socket a receive that empties the socket lets the next one wait for readiness
  // without a speculative try (net/drain_aware_read.hpp); any other next layer reads as it does.
  template <class MutableBufferSequence, class ReadToken>
  auto async_read_some(const MutableBufferSequence& b, ReadToken&& token) {
    if constexpr (std::is_same_v<NextLayer, boost::asio::basic_stream_socket<
                                                 boost::asio::ip::tcp, executor_type>>) {
      return next_.async_read_some(drain_aware_buffers(b), std::forward<ReadToken>(token));
    } else {
      return next_.async_read_some(b, std::forward<ReadToken>(token));
    }
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

  static constexpr std::size_t max_kept_bytes = 64 * 1024;

  NextLayer next_;
  boost::beast::flat_buffer pending_;
  bool corked_ = false;
  bool writing_ = false;
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
