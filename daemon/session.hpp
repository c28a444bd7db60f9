// The op-protocol session of one connection as a pure state machine (no Asio, no sockets): the
// handshake with its close codes (exai-op-protocol.md sections 1-2), the extensions granted
// (section 4), the classification of each later message and the per-connection in-flight ids.
// The connection (connection.hpp) performs what it decides; unit tests drive it with literals.
#pragma once

#include "codecs/error.hpp"
#include "codecs/op.hpp"
#include "net/ws_close_code.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>

namespace exai::daemon {

using close_code = net::ws_close_code;

struct session_settings {
  std::string token;                // "" = no authentication
  bool compat_reference = false;    // --compat reference: no extensions at all
  std::uint32_t max_inflight = 256; // per connection, multiplexed calls
  std::size_t max_message_bytes = 32u * 1024 * 1024;
  std::string server_name = "exai-daemon";
};

// What the connection does next with one inbound message after the handshake.
namespace req {
// Already answered: an error reply for a malformed, unknown or refused message.
struct reply {
  boost::json::object msg;
};
struct list_tools {
  std::optional<std::string> request_id;
};
struct ping {
  std::optional<std::string> request_id;
};
struct call {
  std::string request_id;
  std::string name;
  boost::json::object arguments;
};
struct cancel {
  std::string request_id;
};
}  // namespace req
using request = std::variant<req::reply, req::list_tools, req::ping, req::call, req::cancel>;

// Outcome of the handshake step: the reply to send (if any), then an optional close.
struct handshake_step {
  std::optional<boost::json::object> reply;
  std::optional<close_code> close;
  std::string close_reason;
};

class session {
 public:
  enum class phase : std::uint8_t { awaiting_hello, open, closed };

  explicit session(session_settings s, std::string generated_id);

  phase state() const noexcept { return phase_; }
  // The extensions in force after an accepted hello (all false in compat mode or when not asked).
  const codecs::op::capabilities& granted() const noexcept { return granted_; }
  // Serial mode (no multiplex): messages are handled one at a time, replies in request order.
  bool serial() const noexcept { return !granted_.multiplex; }
  const std::string& id() const noexcept { return id_; }
  const session_settings& settings() const noexcept { return settings_; }

  // The first message: hello_ack ok:true, or hello_ack ok:false + close, or a close alone.
  handshake_step on_first_message(std::string_view text);
  handshake_step on_hello_timeout();

  // A message after the handshake. Never fails: anything unusable becomes a req::reply carrying
  // op and request_id (the client's raw request_id, or null when it gave none).
  request classify(std::string_view text) const;

  // Multiplexed calls: admission of a request_id into this connection's in-flight set.
  enum class admission : std::uint8_t { ok, duplicate, over_capacity, shutting_down };
  admission admit(const std::string& request_id);
  void finished(const std::string& request_id);
  bool in_flight(const std::string& request_id) const { return inflight_.count(request_id) != 0; }
  std::size_t in_flight_count() const noexcept { return inflight_.size(); }
  // After this, admit() refuses new calls (SIGTERM grace period).
  void begin_shutdown() noexcept { shutting_down_ = true; }
  bool shutting_down() const noexcept { return shutting_down_; }
  void mark_closed() noexcept { phase_ = phase::closed; }

 private:
  session_settings settings_;
  std::string id_;
  phase phase_ = phase::awaiting_hello;
  codecs::op::capabilities granted_;
  std::set<std::string, std::less<>> inflight_;
  bool shutting_down_ = false;
};

// Reply builders shared by the session and the connection. Every error names op and request_id
// (section 4); `request_id` is the client's value verbatim, or null when it sent none.
boost::json::object call_error(const boost::json::value& request_id, codecs::errc code,
                               std::string message);
boost::json::object op_error(const boost::json::value& request_id, codecs::errc code,
                             std::string message);
inline boost::json::value id_value(const std::optional<std::string>& id) {
  return id ? boost::json::value(*id) : boost::json::value(nullptr);
}

}  // namespace exai::daemon
