// subscriptions/listen streams of one session (gateway/subscriptions.hpp).
#include "gateway/subscriptions.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace exai::gateway {

namespace asio = boost::asio;
namespace json = boost::json;
namespace era = routes::era;

struct subscription_set::record {
  json::value id;
  era::listen_filter filter;
  std::shared_ptr<outbound> stream;
  asio::steady_timer* wake = nullptr;
  bool ended = false;  // by end_all(): complete with the result
};

asio::awaitable<codecs::result<json::value>> subscription_set::async_listen(
    json::value id, era::listen_filter filter, std::shared_ptr<outbound> stream,
    const sender& send) {
  if (active_.size() >= cap_) {
    co_return codecs::error(codecs::errc::over_capacity,
                            "too many subscriptions/listen streams on this session (limit " +
                                std::to_string(cap_) + "); cancel one first");
  }
  asio::steady_timer wake(co_await asio::this_coro::executor,
                          asio::steady_timer::time_point::max());
  record r{std::move(id), filter, std::move(stream), &wake, false};
  // Registered for as long as this frame lives, however it ends.
  struct registration {
    std::vector<record*>& list;
    record* r;
    ~registration() { std::erase(list, r); }
  } reg{active_, &r};
  active_.push_back(&r);
  if (!r.stream->ended()) send(json::serialize(era::listen_acknowledged(r.id, r.filter)), r.stream);

  boost::system::error_code ec;
  co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (!r.ended) throw boost::system::system_error(asio::error::operation_aborted);
  co_return era::listen_result(r.id);
}

void subscription_set::tools_changed(const sender& send) {
  // send() never calls back into the set, so the list does not change under the loop.
  for (auto* r : active_) {
    if (r->ended || !r->filter.tools_list_changed || r->stream->ended()) continue;
    send(json::serialize(era::listen_notification("notifications/tools/list_changed", r->id)),
         r->stream);
  }
}

void subscription_set::end_all() {
  for (auto* r : active_) {
    r->ended = true;
    r->wake->cancel();
  }
}

}  // namespace exai::gateway
