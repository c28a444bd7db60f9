// A small blocking WebSocket client (and HTTP GET) for integration tests. A read is always
// pending underneath, so waiting with a timeout never breaks the stream.
#pragma once

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace exai::test {

struct ws_options {
  std::string path = "/";
  std::string subprotocol;                                  // offered when non-empty
  std::vector<std::pair<std::string, std::string>> headers; // extra upgrade request headers
  bool expect_failure = false;  // do not throw when the upgrade is refused; see handshake_status()
  std::size_t read_limit = 256u * 1024 * 1024;
};

class ws_client {
 public:
  ws_client(std::string host, std::uint16_t port, ws_options opts = {});
  ~ws_client();
  ws_client(const ws_client&) = delete;
  ws_client& operator=(const ws_client&) = delete;

  // HTTP status of the upgrade response (101 on success) and its headers.
  int handshake_status() const;
  std::string response_header(std::string_view name) const;

  void send(std::string_view text);
  void send_json(const boost::json::value& v);
  // The next text message, or nullopt on timeout or when the peer closed.
  std::optional<std::string> read(std::chrono::milliseconds timeout);
  // The next message parsed; throws on timeout, close or bad JSON.
  boost::json::value read_json(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  bool is_open() const;
  // The peer's close code once it closed (after read returned nullopt); 0 when none, -1 when the
  // connection dropped without a close frame.
  int close_code() const;
  void close();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

struct http_response {
  int status = 0;
  std::string body;
  std::string content_type;
};
http_response http_get(const std::string& host, std::uint16_t port, const std::string& target,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));
// Polls GET target on 127.0.0.1:port every 100 ms until it answers `status`; false after timeout.
bool http_status_becomes(std::uint16_t port, const std::string& target, int status,
                         std::chrono::milliseconds timeout);

}  // namespace exai::test
