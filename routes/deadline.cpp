// The routes' instantiations of net::async_with_deadline (routes/deadline.hpp).
#include "routes/deadline.hpp"

namespace exai::net {
template boost::asio::awaitable<codecs::result<codecs::tool_result>> async_with_deadline(
    boost::asio::awaitable<codecs::result<codecs::tool_result>>, std::chrono::steady_clock::time_point);
template boost::asio::awaitable<codecs::result<boost::json::value>> async_with_deadline(
    boost::asio::awaitable<codecs::result<boost::json::value>>, std::chrono::steady_clock::time_point);
template boost::asio::awaitable<codecs::result<boost::json::array>> async_with_deadline(
    boost::asio::awaitable<codecs::result<boost::json::array>>, std::chrono::steady_clock::time_point);
}  // namespace exai::net
