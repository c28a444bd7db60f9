// Shared by the providers' integration tests: an io_context to run coroutines to completion
// (with a guard so a bug fails the test instead of hanging it), the fake provider (a TEST
// DOUBLE, tests/fakes/provider) and environment maps for the registry.
#pragma once

#include "providers/registry.hpp"
#include "tests/support/fake_provider.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <future>
#include <map>
#include <thread>

namespace exai::test::providers_it {

namespace asio = boost::asio;

struct io_fixture {
  asio::io_context io;

  // Runs aw on io until it completes; fails the test (instead of hanging) after `guard`.
  template <class T>
  T run(asio::awaitable<T> aw, std::chrono::seconds guard = std::chrono::seconds(60)) {
    return wait(asio::co_spawn(io, std::move(aw), asio::use_future), guard);
  }
  // The same, with the coroutine's cancellation slot connected to `signal`.
  template <class T>
  T run(asio::awaitable<T> aw, asio::cancellation_signal& signal,
        std::chrono::seconds guard = std::chrono::seconds(60)) {
    return wait(asio::co_spawn(io, std::move(aw), asio::bind_cancellation_slot(signal.slot(), asio::use_future)),
                guard);
  }

  template <class T>
  T wait(std::future<T> fut, std::chrono::seconds guard) {
    const auto until = std::chrono::steady_clock::now() + guard;
    while (fut.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      if (std::chrono::steady_clock::now() > until) {
        BOOST_FAIL("the operation did not complete within the guard");
      }
      io.restart();
      io.run_for(std::chrono::milliseconds(50));
    }
    return fut.get();
  }
};

inline exai::providers::env_lookup env_of(std::map<std::string, std::string> vars) {
  return [vars](std::string_view n) -> std::optional<std::string> {
    auto it = vars.find(std::string(n));
    if (it == vars.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
}

// Polls the fake's record until pred holds for some line (bounded; not a timing assertion).
template <class Pred>
bool eventually(const fake_provider& f, Pred pred, std::chrono::seconds limit = std::chrono::seconds(10)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    for (const auto& r : f.records()) {
      if (pred(r)) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace exai::test::providers_it
