// The routes' deadline helper: net::async_with_deadline (net/deadline.hpp), instantiated once, in
// deadline.cpp, for the result types the routes use.
#pragma once

#include "codecs/error.hpp"
#include "net/deadline.hpp"
#include "routes/tool_backend.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

namespace exai::net {
extern template boost::asio::awaitable<codecs::result<codecs::tool_result>> async_with_deadline(
    boost::asio::awaitable<codecs::result<codecs::tool_result>>, std::chrono::steady_clock::time_point);
extern template boost::asio::awaitable<codecs::result<boost::json::value>> async_with_deadline(
    boost::asio::awaitable<codecs::result<boost::json::value>>, std::chrono::steady_clock::time_point);
extern template boost::asio::awaitable<codecs::result<boost::json::array>> async_with_deadline(
    boost::asio::awaitable<codecs::result<boost::json::array>>, std::chrono::steady_clock::time_point);
}  // namespace exai::net

namespace exai::routes {
using net::async_with_deadline;
}  // namespace exai::routes
