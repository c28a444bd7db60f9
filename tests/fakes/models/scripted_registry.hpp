// TEST DOUBLE (see README.md): an in-process model registry and provider implementing the
// interfaces of providers/ for the model tools' component tests. It records the requests it is
// sent and answers with a scripted, chunked reply; no model runs.
#pragma once

#include "providers/registry.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cctype>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace exai::test {

struct scripted_reply {
  std::vector<std::string> chunks = {"Hello", " from", " the", " model."};
  std::vector<std::string> reasoning;                 // streamed before the text
  std::chrono::milliseconds pause{0};                 // between chunks
  providers::finish_reason finish = providers::finish_reason::stop;
  providers::usage usage{12, 4, 16};
  std::optional<providers::provider_error> error;     // fail instead (after the chunks, if any)
};

class scripted_provider final : public providers::provider {
 public:
  explicit scripted_provider(std::string id) : id_(std::move(id)) {}

  std::string_view id() const noexcept override { return id_; }
  std::string_view display_name() const noexcept override { return id_; }

  boost::asio::awaitable<providers::result<providers::completion>> async_complete(
      providers::request req, providers::event_sink sink) override {
    requests.push_back(req);
    const scripted_reply reply = replies.empty() ? scripted_reply{} : replies.front();
    if (!replies.empty()) replies.erase(replies.begin());
    providers::completion c;
    c.provider = id_;
    c.model = req.model;
    auto emit = [&](const providers::event& e) {
      if (sink) sink(e);
    };
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
    for (const auto& r : reply.reasoning) {
      c.reasoning += r;
      emit(providers::reasoning_delta{r});
    }
    for (const auto& chunk : reply.chunks) {
      if (reply.pause.count() > 0) {
        timer.expires_after(reply.pause);
        boost::system::error_code ec;
        co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
        if (ec) {
          ++closed_by_cancel;
          providers::provider_error e;
          e.code = providers::provider_errc::cancelled;
          e.message = "cancelled";
          e.partial = !c.text.empty();
          co_return e;
        }
      }
      c.text += chunk;
      emit(providers::text_delta{chunk});
      if (c.text.size() == chunk.size() && on_streaming) on_streaming();
    }
    if (reply.error) co_return *reply.error;
    c.usage = reply.usage;
    c.finish = reply.finish;
    emit(providers::usage_event{c.usage});
    emit(providers::finish_event{c.finish, std::string(providers::to_string(c.finish))});
    co_return c;
  }

  std::vector<providers::request> requests;
  std::vector<scripted_reply> replies;  // used in order; the default reply when empty
  int closed_by_cancel = 0;  // streams ended by a cancel while waiting for their next chunk
  std::function<void()> on_streaming;  // called once a call's first text chunk was handed over

 private:
  std::string id_;
};

class scripted_registry final : public providers::registry {
 public:
  // `configured`: provider ids ("glm", "kimi", "minimax") that have a key.
  explicit scripted_registry(std::set<std::string> configured, std::string default_model = "glm-4.5-flash")
      : configured_(std::move(configured)), default_(std::move(default_model)) {
    for (const auto& id : configured_) providers_.emplace_back(std::make_unique<scripted_provider>(id));
  }

  scripted_provider* provider_of(std::string_view id) const {
    for (const auto& p : providers_)
      if (p->id() == id) return p.get();
    return nullptr;
  }

  providers::result<providers::resolved_model> resolve(std::string_view name) const override {
    std::string want = lower(name.empty() ? default_ : std::string(name));
    if (configured_.empty()) return err(providers::provider_errc::not_configured, setup_hint());
    if (want == "auto") {
      auto av = available();
      return providers::resolved_model{av.front(), provider_of(av.front()->provider), true};
    }
    for (const auto& m : providers::catalogue()) {
      bool match = lower(m.name) == want;
      for (const auto& a : m.aliases) match = match || lower(a) == want;
      if (!match) continue;
      if (!configured_.count(m.provider))
        return err(providers::provider_errc::not_configured,
                   "model '" + m.name + "' needs a key for " + m.provider + "; available: " + names());
      return providers::resolved_model{&m, provider_of(m.provider), false};
    }
    return err(providers::provider_errc::unknown_model, "unknown model '" + std::string(name) + "'; available: " + names());
  }

  std::vector<const providers::model_info*> available() const override {
    std::vector<const providers::model_info*> out;
    for (const auto& m : providers::catalogue())
      if (configured_.count(m.provider)) out.push_back(&m);
    return out;
  }

  std::vector<providers::provider_status> providers() const override {
    std::vector<providers::provider_status> out;
    for (std::string id : {"glm", "kimi", "minimax"}) {
      providers::provider_status s;
      s.id = id;
      s.display_name = id;
      s.configured = configured_.count(id) > 0;
      s.key_variables = {id == "glm" ? "GLM_API_KEY" : id == "kimi" ? "KIMI_API_KEY" : "MINIMAX_M2_KEY"};
      s.key_variable = s.key_variables.front();
      s.base_url = "https://" + id + ".invalid";
      for (const auto& m : providers::catalogue())
        if (m.provider == id) s.models.push_back(m.name);
      out.push_back(std::move(s));
    }
    return out;
  }

  providers::provider* get(std::string_view id) const override { return provider_of(id); }
  std::string default_model() const override { return default_; }
  std::string setup_hint() const override {
    return "No model provider is configured: set GLM_API_KEY, KIMI_API_KEY or MINIMAX_M2_KEY.";
  }

 private:
  static std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
  }
  static providers::provider_error err(providers::provider_errc c, std::string m) {
    providers::provider_error e;
    e.code = c;
    e.message = std::move(m);
    return e;
  }
  std::string names() const {
    std::string out;
    for (const auto* m : available()) out += (out.empty() ? "" : ", ") + m->name;
    return out;
  }

  std::set<std::string> configured_;
  std::string default_;
  std::vector<std::unique_ptr<scripted_provider>> providers_;
};

}  // namespace exai::test
