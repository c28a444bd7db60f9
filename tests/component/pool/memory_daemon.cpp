// The in-memory daemon side for the pool's component tests (see memory_daemon.hpp).
#include "tests/component/pool/memory_daemon.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace exai::gateway::pool::ctest {

namespace {
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
using steady = std::chrono::steady_clock;
}  // namespace

class memory_transport final : public upstream_transport {
 public:
  memory_transport(memory_daemon& d, asio::any_io_executor ex) : daemon_(d), ex_(ex) {}

  asio::awaitable<boost::system::error_code> async_connect(ws_connect_params) override {
    ++daemon_.attempts_;
    if (daemon_.refuse) co_return asio::error::connection_refused;
    link_ = std::make_shared<memory_link>(ex_);
    daemon_.pending_.push_back(link_);
    daemon_.accept_wake_.cancel();
    co_return boost::system::error_code{};
  }

  asio::awaitable<boost::system::error_code> async_read(std::string_view& out) override {
    auto l = link_;
    while (l->to_pool.empty()) {
      if (l->closed) co_return asio::error::eof;
      l->to_pool_wake.expires_at(steady::time_point::max());
      co_await l->to_pool_wake.async_wait(nothrow);
      if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none)
        co_return asio::error::operation_aborted;
    }
    current_ = std::move(l->to_pool.front());
    l->to_pool.pop_front();
    out = current_;
    co_return boost::system::error_code{};
  }

  asio::awaitable<boost::system::error_code> async_write(const std::string& text) override {
    if (!link_ || link_->closed) co_return asio::error::broken_pipe;
    link_->to_daemon.push_back(text);
    link_->to_daemon_wake.cancel();
    co_return boost::system::error_code{};
  }

  void close() noexcept override {
    if (link_ && !link_->closed) link_->close();
  }

  std::optional<std::uint16_t> close_code() const noexcept override {
    return link_ ? link_->close_code : std::nullopt;
  }

 private:
  memory_daemon& daemon_;
  asio::any_io_executor ex_;
  link_ptr link_;
  std::string current_;  // the message the last read returned a view of
};

transport_factory memory_daemon::factory() {
  return [this](asio::any_io_executor ex) -> std::unique_ptr<upstream_transport> {
    return std::make_unique<memory_transport>(*this, ex);
  };
}

asio::awaitable<link_ptr> memory_daemon::accept(ms timeout) {
  const auto deadline = steady::now() + timeout;
  while (pending_.empty() && steady::now() < deadline) {
    accept_wake_.expires_at(deadline);
    co_await accept_wake_.async_wait(nothrow);
  }
  if (pending_.empty()) co_return nullptr;
  auto l = pending_.front();
  pending_.pop_front();
  co_return l;
}

asio::awaitable<std::optional<json::object>> memory_daemon::recv(const link_ptr& l, ms timeout) {
  const auto deadline = steady::now() + timeout;
  while (l->to_daemon.empty()) {
    if (l->closed || steady::now() >= deadline) co_return std::nullopt;
    l->to_daemon_wake.expires_at(deadline);
    co_await l->to_daemon_wake.async_wait(nothrow);
  }
  auto text = std::move(l->to_daemon.front());
  l->to_daemon.pop_front();
  co_return json::parse(text).as_object();
}

void memory_daemon::send(const link_ptr& l, const json::value& v) {
  if (l->closed) return;
  l->to_pool.push_back(json::serialize(v));
  l->to_pool_wake.cancel();
}

json::object echo_tool_list() {
  json::object schema{{"type", "object"}};
  json::object echo{{"name", "echo"}, {"description", "echo"}, {"inputSchema", schema}};
  json::array tools;
  tools.push_back(echo);
  json::object o{{"op", "list_tools_res"}, {"tools", std::move(tools)}};
  return o;
}

asio::awaitable<std::optional<memory_daemon::session>> memory_daemon::accept_ready(std::uint32_t max_inflight,
                                                                                 bool answer_list, ms timeout) {
  auto l = co_await accept(timeout);
  if (!l) co_return std::nullopt;
  auto hello = co_await recv(l, timeout);
  if (!hello) co_return std::nullopt;
  json::object ack{{"op", "hello_ack"}, {"ok", true}};
  ack["session_id"] = hello->at("session_id");
  if (max_inflight > 0) {
    json::object caps{{"multiplex", true}, {"cancel", true}, {"progress", true}, {"max_inflight", max_inflight}};
    ack["capabilities"] = std::move(caps);
  }
  send(l, ack);
  if (!answer_list) co_return session{l, std::move(*hello)};
  auto list = co_await recv(l, timeout);
  if (!list || list->at("op").as_string() != "list_tools") co_return std::nullopt;
  auto res = echo_tool_list();
  res["request_id"] = list->at("request_id");
  send(l, res);
  co_return session{l, std::move(*hello)};
}

}  // namespace exai::gateway::pool::ctest
