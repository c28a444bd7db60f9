// One HTTP MCP session's connection to its gateway session. HTTP has no single connection: client
// messages arrive on many POSTs and replies leave on their POST's response, on the GET stream, or
// (2024-11-05) on the /sse stream. The channel is the session's message_transport: the session
// reads what POSTs delivered, and each message it writes goes to the sink that waits for it (by
// response id or progress token), else to the session's stream. Single-threaded: everything runs
// on the executor the session runs on.
#pragma once

#include "gateway/http/event_log.hpp"
#include "gateway/transport.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace exai::gateway::http {

// Where a message leaves: a POST's response or an SSE stream. push() never suspends; the
// sink's own writer sends what was pushed. end(): the session is gone, finish the response.
class sink {
 public:
  virtual ~sink() = default;
  // POST sinks: one JSON message, `last` when it is the response; streams: SSE bytes.
  virtual void push(std::string text, bool last) = 0;
  virtual void end() = 0;
};

// What the session wrote, as far as routing needs it (a pure decision, unit-tested).
struct outgoing {
  enum class kind { response, progress, other } what = kind::other;
  std::string key;  // response: the id's client_id::key(); progress: the token's
  std::string first_key;  // a batch reply: the first element's id key (what routes the array)
};
outgoing classify_outgoing(std::string_view text);

// The routing keys of a request a POST carries: its id and, when asked for, its progress token.
struct request_keys {
  std::string id_key;
  std::optional<std::string> progress_key;
  boost::json::value id;  // verbatim, for a notifications/cancelled naming it
};

class channel : public std::enable_shared_from_this<channel> {
 public:
  channel(boost::asio::any_io_executor ex, bool legacy, std::size_t replay_events,
          std::size_t replay_bytes);
  ~channel();

  // The session's transport (call once); it shares this channel.
  std::unique_ptr<message_transport> transport();

  // Client -> session: one message (or batch) as JSON text.
  void deliver(std::string message);
  // Routes the replies of these requests to `s` until each is answered.
  void expect(const std::vector<request_keys>& keys, const std::shared_ptr<sink>& s);
  // The requests' POST went away unanswered: forget their routes and tell the session with
  // notifications/cancelled, exactly as a WebSocket client would cancel.
  void abandon(const std::vector<request_keys>& keys, std::string_view reason);
  // Whether a request id is waiting for its reply here (duplicates are refused before delivery).
  bool pending(const std::string& id_key) const;

  // The server-to-client stream (GET /mcp or /sse); replaces an earlier one, which is ended.
  // After Last-Event-ID the caller replays with replay_after() before pushing new events.
  void set_stream(const std::shared_ptr<sink>& s);
  void clear_stream(const sink* s);  // when that stream's connection went away
  std::optional<std::vector<std::string>> replay_after(std::string_view last_event_id) const;

  // Ends the session (DELETE, idle expiry, the legacy stream closed): the session reads eof,
  // cancels what runs, and its transport closes; every sink is ended.
  void close();
  bool closed() const noexcept { return closed_; }
  bool session_gone() const noexcept { return session_gone_; }
  // Called once when the session's transport is closed or destroyed.
  std::function<void()> on_session_gone;

  bool legacy() const noexcept { return legacy_; }
  bool has_stream() const noexcept { return stream_ != nullptr; }
  std::size_t waiting() const noexcept { return routes_.size(); }
  std::chrono::steady_clock::time_point last_used() const noexcept { return last_used_; }
  void touch() noexcept { last_used_ = std::chrono::steady_clock::now(); }

  // The negotiated state, set once initialize is answered (or the session was resumed).
  std::string protocol_version;
  std::string token;  // the sealed Mcp-Session-Id

  class transport_impl;

 private:
  friend class transport_impl;
  void route(std::string text);
  void to_stream(std::string text);
  void session_closed();

  boost::asio::any_io_executor ex_;
  bool legacy_;
  event_log log_;
  std::deque<std::string> inbox_;
  boost::asio::steady_timer inbox_wake_;
  bool reader_waiting_ = false;
  bool closed_ = false;
  bool session_gone_ = false;
  struct route_entry {
    std::weak_ptr<sink> to;
    std::optional<std::string> progress_key;
  };
  std::unordered_map<std::string, route_entry> routes_;               // id key -> its POST
  std::unordered_map<std::string, std::weak_ptr<sink>> progress_;     // token key -> its POST
  std::shared_ptr<sink> stream_;
  std::chrono::steady_clock::time_point last_used_ = std::chrono::steady_clock::now();
};

}  // namespace exai::gateway::http
