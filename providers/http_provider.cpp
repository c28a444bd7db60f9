// One provider call: admission (breaker, concurrency slot), the HTTP exchange with the answer
// decoded as it streams, retries before anything was streamed, and Kimi's `$web_search` builtin
// round trips (the tool message echoes the call's arguments unchanged: exai-tools-reference.md
// §2.3). Cancellation reaches the HTTP exchange through this coroutine's slot.
#include "providers/http_provider.hpp"

#include "codecs/sse.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <deque>
#include <random>

namespace exai::providers {

namespace asio = boost::asio;
namespace json = boost::json;
using clock_type = std::chrono::steady_clock;
using boost::system::error_code;

namespace {

constexpr std::size_t max_error_body = 64 * 1024;

provider_error make_error(provider_errc c, std::string msg) {
  provider_error e;
  e.code = c;
  e.message = std::move(msg);
  return e;
}

bool cancelled_now(const asio::cancellation_state& cs) {
  return cs.cancelled() != asio::cancellation_type::none;
}

// A network-level failure of the exchange, in our words.
provider_error from_net(const error_code& ec) {
  using net::http_errc;
  if (ec == http_errc::cancelled) return make_error(provider_errc::cancelled, "cancelled");
  if (ec == http_errc::connect_timeout) {
    return make_error(provider_errc::timeout, "connect to the provider timed out");
  }
  if (ec == http_errc::first_byte_timeout) {
    return make_error(provider_errc::timeout, "the provider did not answer in time");
  }
  if (ec == http_errc::idle_timeout) {
    return make_error(provider_errc::timeout, "the provider's answer stalled");
  }
  if (ec == http_errc::total_timeout) {
    return make_error(provider_errc::timeout, "the call exceeded its total time");
  }
  if (ec == http_errc::bad_url) return make_error(provider_errc::bad_request, "bad provider base URL");
  if (ec == http_errc::too_large || ec == http_errc::bad_response) {
    return make_error(provider_errc::protocol, "unreadable HTTP answer: " + ec.message());
  }
  if (ec == http_errc::pool_exhausted) {
    return make_error(provider_errc::network, "no connection to the provider became free");
  }
  if (ec.category() == asio::error::get_ssl_category() || ec == asio::ssl::error::stream_truncated) {
    if (ec != asio::ssl::error::stream_truncated) {
      return make_error(provider_errc::tls, "TLS with the provider failed: " + ec.message());
    }
  }
  return make_error(provider_errc::network, "network error talking to the provider: " + ec.message());
}

class http_provider final : public provider {
 public:
  http_provider(std::shared_ptr<net::https_client> client, http_provider_options o, model_lookup m)
      : client_(std::move(client)), opts_(std::move(o)), models_(std::move(m)),
        breaker_(opts_.breaker), rng_(std::random_device{}()) {
    while (!opts_.base_url.empty() && opts_.base_url.back() == '/') opts_.base_url.pop_back();
  }

  std::string_view id() const noexcept override { return opts_.id; }
  std::string_view display_name() const noexcept override { return opts_.display_name; }

  asio::awaitable<result<completion>> async_complete(request req, event_sink sink) override {
    try {
      co_return co_await run(std::move(req), std::move(sink));
    } catch (const boost::system::system_error& e) {
      if (e.code() == asio::error::operation_aborted) {
        co_return make_error(provider_errc::cancelled, "cancelled");
      }
      co_return make_error(provider_errc::network, e.what());
    }
  }

 private:
  struct attempt_result {
    bool ok = false;
    provider_error error;
    std::size_t delivered = 0;  // events handed to the sink
  };

  asio::awaitable<result<completion>> run(request req, event_sink sink) {
    const model_info* model = models_(req.model);
    if (!model) {
      co_return make_error(provider_errc::unknown_model,
                           "model '" + req.model + "' is not served by " + opts_.id);
    }
    const auto start = clock_type::now();
    const auto deadline = start + opts_.total_timeout;
    auto cs = co_await asio::this_coro::cancellation_state;

    completion c;
    c.provider = opts_.id;
    c.model = model->name;
    c.attempts = 0;
    for (unsigned round = 1;; ++round) {
      auto body = dialect::build_body(opts_.flavour, req, *model);
      if (!body) co_return body.error();
      const std::string payload = json::serialize(*body);

      completion round_c;
      for (unsigned attempt = 1;; ++attempt) {
        if (cancelled_now(cs)) co_return make_error(provider_errc::cancelled, "cancelled");
        if (!breaker_.allow(clock_type::now())) {
          co_return make_error(provider_errc::circuit_open,
                               opts_.display_name + " is failing; calls are paused for a while");
        }
        // Every call allow() let through reports one verdict, even when a cancel unwinds it as
        // an exception (else a half-open breaker would wait for its trial forever).
        struct verdict {
          circuit_breaker& b;
          bool given = false;
          void give(const provider_error* failure) {
            given = true;
            b.on_result(failure, clock_type::now());
          }
          ~verdict() {
            if (!given) {
              auto none = make_error(provider_errc::cancelled, "cancelled");
              b.on_result(&none, clock_type::now());
            }
          }
        } outcome{breaker_};
        if (!co_await acquire_slot()) co_return make_error(provider_errc::cancelled, "cancelled");
        ++c.attempts;
        round_c = completion{};
        attempt_result r;
        {
          struct slot_release {
            http_provider* p;
            ~slot_release() { p->release_slot(); }
          } release{this};
          r = co_await exchange(payload, req, *model, deadline, sink, round_c);
        }
        outcome.give(r.ok ? nullptr : &r.error);
        if (r.ok) break;
        if (r.error.code == provider_errc::cancelled || cancelled_now(cs)) {
          co_return make_error(provider_errc::cancelled, "cancelled");
        }
        r.error.partial = r.error.partial || r.delivered > 0;
        const auto left = std::chrono::duration_cast<ms>(deadline - clock_type::now());
        auto d = decide_retry(opts_.retry, attempt, r.error, unit_(rng_), left);
        if (!d.retry) co_return r.error;
        if (sink) sink(retry_event{attempt, d.delay, r.error.message});
        asio::steady_timer wait(co_await asio::this_coro::executor, d.delay);
        auto [ec] = co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec || cancelled_now(cs)) co_return make_error(provider_errc::cancelled, "cancelled");
      }

      // Kimi's builtin web search: the model asks, the client echoes the arguments, and asks again.
      const bool builtin_round = opts_.flavour == dialect::flavour::kimi &&
                                 round_c.finish == finish_reason::tool_calls &&
                                 !round_c.tool_calls.empty() &&
                                 std::all_of(round_c.tool_calls.begin(), round_c.tool_calls.end(),
                                             [](const tool_call& t) { return t.type == "builtin_function"; });
      c.text += round_c.text;
      c.reasoning += round_c.reasoning;
      c.usage.input_tokens += round_c.usage.input_tokens;
      c.usage.output_tokens += round_c.usage.output_tokens;
      c.usage.total_tokens += round_c.usage.total_tokens;
      c.finish = round_c.finish;
      c.finish_raw = round_c.finish_raw;
      if (builtin_round && round < opts_.max_tool_rounds) {
        message assistant;
        assistant.role = role::assistant;
        assistant.parts.push_back(text_part{round_c.text});
        assistant.tool_calls = round_c.tool_calls;
        req.messages.push_back(std::move(assistant));
        for (const auto& call : round_c.tool_calls) {
          message tool;
          tool.role = role::tool;
          tool.tool_call_id = call.id;
          tool.name = call.name;
          tool.parts.push_back(text_part{call.arguments});
          req.messages.push_back(std::move(tool));
        }
        continue;
      }
      c.tool_calls = std::move(round_c.tool_calls);
      if (sink) sink(finish_event{c.finish, c.finish_raw});
      co_return c;
    }
  }

  // One HTTP exchange. Events go to the sink as they are decoded, except the finish event, which
  // run() sends once it knows no builtin round follows.
  asio::awaitable<attempt_result> exchange(const std::string& payload, const request& req,
                                           const model_info& model, clock_type::time_point deadline,
                                           const event_sink& sink, completion& out) {
    attempt_result r;
    net::http_request hreq;
    hreq.url = opts_.base_url + std::string(dialect::path(opts_.flavour));
    hreq.headers.push_back({"Content-Type", "application/json"});
    hreq.headers.push_back({"Accept", req.stream ? "text/event-stream" : "application/json"});
    if (opts_.flavour == dialect::flavour::minimax) {
      hreq.headers.push_back({"x-api-key", opts_.api_key});
      hreq.headers.push_back({"anthropic-version", "2023-06-01"});
    } else {
      hreq.headers.push_back({"Authorization", "Bearer " + opts_.api_key});
    }
    hreq.body = payload;

    net::http_timeouts t;
    const ms per_model = req.timeout ? *req.timeout : model.timeout;
    t.connect = opts_.connect_timeout;
    t.first_byte = per_model;
    t.idle = per_model;
    t.total = std::max(ms(1), std::chrono::duration_cast<ms>(deadline - clock_type::now()));

    unsigned status = 0;
    bool sse = false;
    std::optional<std::string> retry_after;
    std::string error_body;
    std::string json_body;
    codecs::sse_decoder decoder;
    dialect::stream_decoder deltas(opts_.flavour);
    std::optional<provider_error> failure;
    std::vector<event> batch;
    finish_event held;
    bool have_finish = false;

    auto deliver = [&](std::vector<event>& evs) {
      for (auto& e : evs) {
        dialect::accumulate(out, e);
        if (auto* f = std::get_if<finish_event>(&e)) {
          held = *f;
          have_finish = true;
          continue;
        }
        ++r.delivered;
        if (sink) sink(e);
      }
      evs.clear();
    };

    auto on_head = [&](const net::http_response_head& h) {
      status = h.status;
      if (auto ct = h.header("content-type")) sse = ct->find("text/event-stream") != std::string_view::npos;
      if (auto ra = h.header("retry-after")) retry_after = std::string(*ra);
    };
    auto on_body = [&](std::string_view piece) -> bool {
      if (status != 200) {
        if (error_body.size() < max_error_body) error_body.append(piece.substr(0, max_error_body - error_body.size()));
        return true;
      }
      if (!sse) {
        if (json_body.size() + piece.size() > 64u * 1024 * 1024) {
          failure = make_error(provider_errc::protocol, "the provider's answer is too large");
          return false;
        }
        json_body.append(piece);
        return true;
      }
      decoder.feed(piece);
      while (auto item = decoder.next()) {
        if (!*item) {
          failure = make_error(provider_errc::protocol, "an event of the provider's stream is too large");
          return false;
        }
        auto res = deltas.on_event(**item, batch);
        deliver(batch);
        if (!res) {
          failure = res.error();
          return false;
        }
      }
      return true;
    };

    error_code ec = co_await client_->async_request(hreq, t, on_head, on_body);
    if (failure) {
      r.error = *failure;
      co_return r;
    }
    if (ec) {
      r.error = from_net(ec);
      co_return r;
    }
    if (status != 200) {
      std::optional<std::string_view> ra;
      if (retry_after) ra = *retry_after;
      r.error = classify_http(status, error_body, ra);
      co_return r;
    }
    if (!sse) {
      auto evs = dialect::decode_body(opts_.flavour, json_body);
      if (!evs) {
        r.error = evs.error();
        co_return r;
      }
      deliver(*evs);
    } else {
      const bool cut = decoder.finish();
      if (!deltas.done() && !deltas.finished()) {
        r.error = make_error(cut || r.delivered ? provider_errc::protocol : provider_errc::network,
                             "the provider's stream ended before the answer was complete");
        co_return r;
      }
      deltas.flush(batch);
      deliver(batch);
    }
    if (!have_finish) {
      out.finish = finish_reason::other;
    }
    r.ok = true;
    co_return r;
  }

  asio::awaitable<bool> acquire_slot() {
    if (in_flight_ < opts_.max_concurrency) {
      ++in_flight_;
      co_return true;
    }
    asio::steady_timer wait(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
    // Leaves the queue however the wait ends (an exception included); says whether it was still
    // queued, i.e. cancelled before release_slot() handed a slot over.
    struct queued {
      std::deque<asio::steady_timer*>& q;
      asio::steady_timer* w;
      bool leave() {
        auto it = std::find(q.begin(), q.end(), w);
        if (it == q.end()) return false;
        q.erase(it);
        return true;
      }
      ~queued() { leave(); }
    } place{waiters_, &wait};
    waiters_.push_back(&wait);
    auto [ec] = co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;
    if (place.leave()) co_return false;
    co_return true;  // release_slot() handed its slot to us (in_flight_ unchanged)
  }

  void release_slot() {
    if (!waiters_.empty()) {
      auto* w = waiters_.front();
      waiters_.pop_front();
      w->cancel();  // the slot passes to the oldest waiter
      return;
    }
    if (in_flight_ > 0) --in_flight_;
  }

  std::shared_ptr<net::https_client> client_;
  http_provider_options opts_;
  model_lookup models_;
  circuit_breaker breaker_;
  std::size_t in_flight_ = 0;
  std::deque<asio::steady_timer*> waiters_;
  std::mt19937 rng_;
  std::uniform_real_distribution<double> unit_{0.0, 1.0};
};

}  // namespace

std::unique_ptr<provider> make_http_provider(std::shared_ptr<net::https_client> client,
                                             http_provider_options opts, model_lookup models) {
  return std::make_unique<http_provider>(std::move(client), std::move(opts), std::move(models));
}

}  // namespace exai::providers
