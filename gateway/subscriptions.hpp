// The subscriptions/listen streams of one session (2026-07-28, mcp-server-rules.md modern rule
// 11), kept beside the session rather than in its request table logic: each is a request that
// stays in flight, whose stream first gets notifications/subscriptions/acknowledged and then
// only the notification types it asked for, each tagged with its subscription id (the listen
// request's id). A client ends one by cancelling the request (notifications/cancelled on stdio
// and WebSocket, closing the response stream over HTTP): no reply follows. The session ends them
// all when it drains (shutdown, end of input), each with the listen result. Bounded: at most
// `cap` per session; one record per listen, removed when its request ends.
#pragma once

#include "codecs/error.hpp"
#include "gateway/outbound.hpp"
#include "routes/era.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace exai::gateway {

class subscription_set {
 public:
  // How a message reaches a stream: the session's own accounting send. Called only for a stream
  // that has not ended.
  using sender = std::function<void(std::string text, const std::shared_ptr<outbound>& to)>;

  explicit subscription_set(std::size_t cap) : cap_(cap == 0 ? 1 : cap) {}
  subscription_set(const subscription_set&) = delete;
  subscription_set& operator=(const subscription_set&) = delete;

  // Serves one listen request with id `id` that arrived on `stream`: over the cap, an
  // over_capacity error at once; else the acknowledgement is sent and the call waits. It
  // completes with the listen result once end_all() ends it, and throws operation_aborted when
  // its request is cancelled (terminal cancellation of the awaiting coroutine). The set must
  // outlive the call (the session that owns it is held by the request's coroutine).
  boost::asio::awaitable<codecs::result<boost::json::value>> async_listen(
      boost::json::value id, routes::era::listen_filter filter, std::shared_ptr<outbound> stream,
      const sender& send);

  // notifications/tools/list_changed to every listen stream that asked for it.
  void tools_changed(const sender& send);

  // Ends every listen: each completes with its result. Listens started later are served.
  void end_all();

  std::size_t size() const noexcept { return active_.size(); }
  std::size_t cap() const noexcept { return cap_; }

  struct record;

 private:
  std::size_t cap_;
  std::vector<record*> active_;  // owned by the listening coroutines' frames
};

}  // namespace exai::gateway
