// The HTTP session channel (gateway/http/channel.hpp): the session's transport on one side, the
// POST, GET and /sse exchanges on the other.
#include "gateway/http/channel.hpp"

#include "codecs/model.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace exai::gateway::http {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

std::string key_of(const json::value& id) { return codecs::client_id{id}.key(); }

// The id of a reply the session encoded as {"jsonrpc":"2.0","id":<id>,...}: read straight from the
// text when it is a number or a plain string (every reply the bench makes), else nullopt.
std::optional<std::string> fast_id_key(std::string_view text) {
  constexpr std::string_view prefix = R"({"jsonrpc":"2.0","id":)";
  if (!text.starts_with(prefix)) return std::nullopt;
  text.remove_prefix(prefix.size());
  std::size_t end = 0;
  if (!text.empty() && text[0] == '"') {
    end = text.find_first_of("\"\\", 1);
    if (end == std::string_view::npos || text[end] != '"') return std::nullopt;
    ++end;
  } else {
    end = text.find_first_of(",}");
    if (end == std::string_view::npos) return std::nullopt;
  }
  if (end >= text.size() || text[end] != ',') return std::nullopt;
  boost::system::error_code ec;
  auto id = json::parse(text.substr(0, end), ec);
  if (ec) return std::nullopt;
  return key_of(id);
}

}  // namespace

outgoing classify_outgoing(std::string_view text) {
  outgoing o;
  if (auto k = fast_id_key(text)) {
    o.what = outgoing::kind::response;
    o.key = std::move(*k);
    return o;
  }
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) return o;
  if (const auto* a = v.if_array()) {
    for (const auto& e : *a) {
      const auto* eo = e.if_object();
      const auto* id = eo ? eo->if_contains("id") : nullptr;
      if (id && !id->is_null()) {
        o.what = outgoing::kind::response;
        o.key = key_of(*id);
        o.first_key = o.key;
        return o;
      }
    }
    return o;
  }
  const auto* obj = v.if_object();
  if (!obj) return o;
  if (const auto* id = obj->if_contains("id"); id && !id->is_null() && !obj->contains("method")) {
    o.what = outgoing::kind::response;
    o.key = key_of(*id);
    return o;
  }
  const auto* m = obj->if_contains("method");
  if (m && m->is_string() && m->get_string() == "notifications/progress") {
    const auto* p = obj->if_contains("params");
    const auto* po = p ? p->if_object() : nullptr;
    const auto* t = po ? po->if_contains("progressToken") : nullptr;
    if (t) {
      o.what = outgoing::kind::progress;
      o.key = key_of(*t);
    }
  }
  return o;
}

class channel::transport_impl final : public message_transport {
 public:
  explicit transport_impl(std::shared_ptr<channel> c) : ch_(std::move(c)) {}
  ~transport_impl() override { ch_->session_closed(); }

  asio::any_io_executor get_executor() override { return ch_->ex_; }

  asio::awaitable<boost::system::error_code> async_read_message(std::string_view& out) override {
    auto& c = *ch_;
    while (c.inbox_.empty()) {
      if (c.closed_) co_return asio::error::eof;
      c.reader_waiting_ = true;
      boost::system::error_code ec;
      co_await c.inbox_wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      c.reader_waiting_ = false;
    }
    current_ = std::move(c.inbox_.front());
    c.inbox_.pop_front();
    out = current_;
    co_return boost::system::error_code();
  }

  // Never suspends: each message is handed to its sink, whose own writer sends it.
  asio::awaitable<boost::system::error_code> async_write_message(std::string_view m) override {
    if (ch_->session_gone_) co_return asio::error::broken_pipe;
    ch_->route(std::string(m));
    co_return boost::system::error_code();
  }

  asio::awaitable<boost::system::error_code> async_write_messages(
      std::span<const std::string> messages) override {
    if (ch_->session_gone_) co_return asio::error::broken_pipe;
    for (const auto& m : messages) ch_->route(m);
    co_return boost::system::error_code();
  }

  asio::awaitable<void> async_close(close_code) override {
    ch_->session_closed();
    co_return;
  }

  std::string_view kind() const noexcept override { return ch_->legacy_ ? "sse" : "http"; }

 private:
  std::shared_ptr<channel> ch_;
  std::string current_;
};

channel::channel(asio::any_io_executor ex, bool legacy, std::size_t replay_events,
                 std::size_t replay_bytes)
    : ex_(ex),
      legacy_(legacy),
      log_(replay_events, replay_bytes),
      inbox_wake_(ex, std::chrono::steady_clock::time_point::max()) {}

channel::~channel() = default;

std::unique_ptr<message_transport> channel::transport() {
  return std::make_unique<transport_impl>(shared_from_this());
}

void channel::deliver(std::string message) {
  if (closed_) return;
  touch();
  inbox_.push_back(std::move(message));
  if (reader_waiting_) inbox_wake_.cancel();
}

void channel::expect(const std::vector<request_keys>& keys, const std::shared_ptr<sink>& s) {
  for (const auto& k : keys) {
    routes_[k.id_key] = route_entry{s, k.progress_key};
    if (k.progress_key) progress_[*k.progress_key] = s;
  }
}

bool channel::pending(const std::string& id_key) const { return routes_.contains(id_key); }

void channel::abandon(const std::vector<request_keys>& keys, std::string_view reason) {
  for (const auto& k : keys) {
    auto it = routes_.find(k.id_key);
    if (it == routes_.end()) continue;  // answered already
    if (it->second.progress_key) progress_.erase(*it->second.progress_key);
    routes_.erase(it);
    json::object params;
    params["requestId"] = k.id;
    params["reason"] = reason;
    json::object n;
    n["jsonrpc"] = "2.0";
    n["method"] = "notifications/cancelled";
    n["params"] = std::move(params);
    deliver(json::serialize(n));
  }
}

void channel::set_stream(const std::shared_ptr<sink>& s) {
  if (stream_ && stream_ != s) stream_->end();
  stream_ = s;
}

void channel::clear_stream(const sink* s) {
  if (stream_.get() == s) stream_.reset();
  touch();
}

std::optional<std::vector<std::string>> channel::replay_after(std::string_view id) const {
  return log_.replay_after(id);
}

void channel::route(std::string text) {
  auto o = classify_outgoing(text);
  if (o.what == outgoing::kind::response) {
    if (auto it = routes_.find(o.key); it != routes_.end()) {
      auto to = it->second.to.lock();
      if (it->second.progress_key) progress_.erase(*it->second.progress_key);
      routes_.erase(it);
      if (to) to->push(std::move(text), true);
      return;  // a reply whose POST went away is dropped with it
    }
  } else if (o.what == outgoing::kind::progress) {
    if (auto it = progress_.find(o.key); it != progress_.end()) {
      if (auto to = it->second.lock()) to->push(std::move(text), false);
      return;
    }
  }
  to_stream(std::move(text));
}

void channel::to_stream(std::string text) {
  if (legacy_) {
    if (stream_) stream_->push(sse_message(text), false);
    return;
  }
  // Numbered and kept even with no stream open, so a client that reconnects can catch up.
  auto wire = log_.append(text);
  if (stream_) stream_->push(std::move(wire), false);
}

void channel::close() {
  if (closed_) return;
  closed_ = true;
  if (reader_waiting_) inbox_wake_.cancel();
}

void channel::session_closed() {
  if (session_gone_) return;
  session_gone_ = true;
  closed_ = true;
  if (reader_waiting_) inbox_wake_.cancel();  // the session's reader sees eof
  std::vector<std::shared_ptr<sink>> ends;
  for (auto& [k, r] : routes_) {
    if (auto s = r.to.lock()) ends.push_back(std::move(s));
  }
  routes_.clear();
  progress_.clear();
  if (stream_) ends.push_back(std::move(stream_));
  stream_.reset();
  for (auto& s : ends) s->end();
  if (on_session_gone) {
    auto f = std::move(on_session_gone);
    on_session_gone = nullptr;
    f();
  }
}

}  // namespace exai::gateway::http
