// Waiting inside test coroutines: a plain sleep and a bounded poll of a condition.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>

namespace exai::test {

boost::asio::awaitable<void> sleep_for(std::chrono::milliseconds d);
// Polls pred every few milliseconds; false if it never held within timeout.
boost::asio::awaitable<bool> wait_until(std::function<bool()> pred,
                                        std::chrono::milliseconds timeout);

}  // namespace exai::test
