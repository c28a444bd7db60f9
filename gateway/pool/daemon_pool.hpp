// The daemon pool: a routes::tool_backend that fans tool calls over pooled WebSocket
// connections to exai-daemon (multiplexed: many calls per connection, real cancel) or the
// reference daemon (serial: one call at a time per connection, at most 10 per address).
//
// Threading: all pool state lives on the executor given at construction; use a single-threaded
// io_context or a strand. async_call_tool / async_list_tools may be awaited from coroutines on any
// executor (they hop onto the pool's when it differs). ready() and snapshot() may be called from
// any thread.
#pragma once

#include "gateway/pool/pool_options.hpp"
#include "gateway/pool/upstream_transport.hpp"
#include "routes/tool_backend.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace exai::gateway::pool {

namespace detail {
class pool_impl;
}

class daemon_pool final : public routes::tool_backend {
 public:
  daemon_pool(boost::asio::any_io_executor ex, pool_options opts);
  // For component tests: connections talk through transports made by `factory`.
  daemon_pool(boost::asio::any_io_executor ex, pool_options opts, transport_factory factory);
  // Stops what is still running without waiting (prefer co_await async_stop() first). Coroutines
  // still on the io_context keep the shared state alive until they finish.
  ~daemon_pool() override;
  daemon_pool(const daemon_pool&) = delete;
  daemon_pool& operator=(const daemon_pool&) = delete;

  // Spawns run() of every connection (connections_per_endpoint per endpoint). Call once.
  void start();

  // Stops dispatching, fails queued and in-flight calls with errc::shutting_down, closes every
  // connection and waits (bounded, ~5 s) for their coroutines to end. Idempotent.
  // Cancellation: not supported (it is itself the bounded shutdown).
  boost::asio::awaitable<void> async_stop();

  // The cached tool list (MCP Tool objects); errc::backend_unavailable until one was loaded.
  // Completes without suspending on I/O (no cancellation needed).
  boost::asio::awaitable<codecs::result<boost::json::array>> async_list_tools() override;

  // One tool call. Waits in the FIFO for a free connection when all are busy (errc::over_capacity
  // at once when queue_limit calls already wait), then for the reply, bounded by
  // min(ctx.deadline, now + the tool's budget) (errc::timeout; the daemon is told with `cancel`
  // when the connection granted it). ctx.progress receives the call's progress messages.
  // Errors: timeout, cancelled, over_capacity, upstream_lost ("daemon connection lost", at once
  // when the connection drops; never retried), tool_not_found / invalid_params (the daemon said
  // so), shutting_down.
  // Cancellation contract: terminal (or partial, when the caller's filter lets it through)
  // cancellation of the awaiting coroutine completes the call at once with errc::cancelled; the
  // upstream is told (`cancel` where granted) and a late reply is dropped. Total cancellation is
  // not supported (the call may already have been sent).
  boost::asio::awaitable<codecs::result<codecs::tool_result>> async_call_tool(
      std::string name, boost::json::object arguments, routes::call_context ctx) override;

  // A connection is ready and the tool list is loaded (for /ready).
  bool ready() const override;
  // A changed tool list: the first load, and a reload after a reconnect that differs.
  boost::asio::awaitable<std::uint64_t> async_wait_tools_changed(std::uint64_t seen) override;

  struct stats {
    // Connections by state (metric exai_upstream_connections{state}).
    std::size_t connecting = 0;  // TCP / WebSocket / hello in progress
    std::size_t ready = 0;
    std::size_t backoff = 0;     // waiting to reconnect
    std::size_t serial = 0;      // ready connections in serial mode
    std::size_t multiplexed = 0; // ready connections in multiplexed mode
    // Calls.
    std::size_t queued = 0;      // waiting in the FIFO
    std::size_t in_flight = 0;   // sent, caller still waiting
    std::size_t abandoned = 0;   // sent, caller gone, reply not yet seen
    std::uint64_t calls = 0;     // accepted by async_call_tool
    std::uint64_t reconnects = 0;
    std::uint64_t late_replies_dropped = 0;  // replies for abandoned or unknown ids
    std::uint64_t timeouts = 0;
    std::uint64_t cancelled = 0;
    std::uint64_t rejected = 0;              // over_capacity at admission
    std::uint64_t lost = 0;                  // failed with upstream_lost
    bool tools_loaded = false;
    std::size_t tools = 0;
  };
  stats snapshot() const;

 private:
  std::shared_ptr<detail::pool_impl> impl_;
};

}  // namespace exai::gateway::pool
