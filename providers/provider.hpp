// The provider interface (issue 13): one request model, one stream of result events and one
// awaitable call for every model provider (GLM and Kimi speak OpenAI's chat completions, MiniMax
// speaks Anthropic's messages). Tools build a `request`, ask the registry for the provider of the
// model, and await `async_complete`; deltas reach their sink while the answer streams.
#pragma once

#include "codecs/error.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace exai::providers {

// ---------------------------------------------------------------------------------------------
// Request model
// ---------------------------------------------------------------------------------------------

enum class role { user, assistant, tool };  // system text is request::system, never a message

struct text_part {
  std::string text;
};

// An image sent inline. OpenAI dialects send it as a `data:` URL in an `image_url` part; MiniMax
// takes no images (the adapter refuses a request with images: provider_errc::unsupported).
struct image_part {
  std::string media_type;  // "image/png", "image/jpeg", ...
  std::string base64;      // the image bytes, base64-encoded (no "data:" prefix)
};

using part = std::variant<text_part, image_part>;

// A tool call as the model made it. `arguments` is the JSON text exactly as received (Kimi's
// `$web_search` round trip must echo it unchanged).
struct tool_call {
  std::string id;
  std::string type = "function";  // "function" or Kimi's "builtin_function"
  std::string name;
  std::string arguments;
};

struct message {
  providers::role role = role::user;
  std::vector<part> parts;              // usually one text_part
  std::vector<tool_call> tool_calls;    // role::assistant: calls the model made
  std::string tool_call_id;             // role::tool: the call this answers
  std::string name;                     // role::tool: the tool's name

  static message user(std::string text) { return {role::user, {text_part{std::move(text)}}, {}, {}, {}}; }
  static message assistant(std::string text) {
    return {role::assistant, {text_part{std::move(text)}}, {}, {}, {}};
  }
};

// Whether to ask for reasoning. `automatic` sends nothing (the provider's default); `on`/`off`
// send the provider's flag where it has one (GLM `thinking`, Kimi K2 `thinking`, MiniMax
// `thinking` budget). Models without thinking support ignore it.
enum class thinking { automatic, off, on };

struct request {
  std::string model;                    // canonical catalogue name (registry::resolve gives it)
  std::string system;                   // empty: none
  std::vector<message> messages;        // history then the new user turn, oldest first
  std::optional<double> temperature;    // clamped to what the provider accepts
  std::optional<std::uint32_t> max_tokens;  // default: the model's max output
  providers::thinking thinking = thinking::automatic;
  std::string thinking_effort;          // "minimal".."max" (reference thinking_mode); may be empty
  bool web_search = false;              // GLM web_search tool / Kimi $web_search builtin
  bool stream = true;                   // SSE from the provider; false: one JSON body
  // Overrides the model's timeouts (registry's model_info::timeout) for this call.
  std::optional<std::chrono::milliseconds> timeout;
};

// ---------------------------------------------------------------------------------------------
// Result events (streamed) and the aggregated completion
// ---------------------------------------------------------------------------------------------

enum class finish_reason { stop, length, tool_calls, content_filter, other };
std::string_view to_string(finish_reason r) noexcept;

struct usage {
  std::uint64_t input_tokens = 0;
  std::uint64_t output_tokens = 0;
  std::uint64_t total_tokens = 0;  // input + output when the provider does not say
};

struct text_delta {
  std::string text;
};
struct reasoning_delta {
  std::string text;
};
// A complete tool call, emitted once its arguments are whole (streamed fragments are joined by
// the adapter). Builtin calls that the adapter handles itself (Kimi `$web_search`) are emitted
// too, for progress, and followed by more deltas of the next round.
struct tool_call_event {
  providers::tool_call call;
};
struct usage_event {
  providers::usage usage;
};
struct finish_event {
  finish_reason reason = finish_reason::stop;
  std::string raw;  // the provider's own word ("stop", "end_turn", "length", "max_tokens", ...)
};
// A retry is about to happen (nothing was streamed yet): for progress ("rate limited, retrying").
struct retry_event {
  unsigned attempt = 0;  // the attempt that failed, 1-based
  std::chrono::milliseconds delay{0};
  std::string reason;
};

using event = std::variant<text_delta, reasoning_delta, tool_call_event, usage_event, finish_event,
                           retry_event>;

// Called for each event, in order, from the coroutine that awaits async_complete (never
// concurrently, never after async_complete has returned). It must not block; it may be empty.
using event_sink = std::function<void(const event&)>;

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

enum class provider_errc {
  not_configured,    // no key for the provider
  unknown_model,     // the name is neither a catalogue model nor an alias
  unsupported,       // the request asks for what the model cannot do (images on a text model)
  auth,              // 401/403
  bad_request,       // 400/404/422: the provider refused the request (context too long, ...)
  rate_limited,      // 429 (after retries)
  server,            // 5xx (after retries)
  network,           // connect refused, reset, cut (after retries)
  tls,               // TLS handshake or certificate verification failed (not retried)
  timeout,           // connect, first-byte, idle or total timeout
  circuit_open,      // the provider's breaker is open: not tried
  protocol,          // malformed JSON / SSE from the provider, truncated stream
  cancelled,         // the awaiting coroutine was cancelled; the stream was closed
};
std::string_view to_string(provider_errc e) noexcept;
// The project error a tool reports for e: timeout -> errc::timeout, cancelled -> errc::cancelled,
// everything else (unknown or unconfigured model included) -> errc::tool_failed, a tool error
// whose message should be the provider_error's message.
codecs::errc to_errc(provider_errc e) noexcept;

struct provider_error {
  provider_errc code = provider_errc::network;
  std::string message;               // ours, safe to show (never a key, never request headers)
  unsigned http_status = 0;          // 0 when no HTTP status was received
  std::string upstream_body;         // the provider's error body as received (bounded), if any
  std::optional<std::chrono::milliseconds> retry_after;
  bool partial = false;              // some deltas were already streamed when it failed
};

// Everything the model said, aggregated from the events.
struct completion {
  std::string provider;   // "glm", "kimi", "minimax"
  std::string model;      // the catalogue model that was called (canonical name)
  std::string text;
  std::string reasoning;
  std::vector<tool_call> tool_calls;  // calls left for the caller (builtins handled are not here)
  providers::usage usage;
  finish_reason finish = finish_reason::stop;
  std::string finish_raw;
  unsigned attempts = 1;  // HTTP attempts made (retries + 1, plus builtin tool rounds)
};

template <class T>
using result = boost::system::result<T, provider_error>;

// Lets result<T>::value() throw (boost::system::result needs it for a custom error type).
[[noreturn]] void throw_exception_from_error(const provider_error& e,
                                             const boost::source_location& loc);

// ---------------------------------------------------------------------------------------------
// The interface
// ---------------------------------------------------------------------------------------------

class provider {
 public:
  virtual ~provider() = default;

  virtual std::string_view id() const noexcept = 0;            // "glm", "kimi", "minimax"
  virtual std::string_view display_name() const noexcept = 0;  // "ZhipuAI GLM", ...

  // Sends req and streams the answer's events into sink; returns the aggregated completion, or
  // the error. Retries (429/5xx/network, Retry-After honoured) happen only before the first event
  // was delivered; the circuit breaker and the provider's concurrency limit apply.
  //
  // Cancellation (terminal, partial and total are all honoured): cancelling the awaiting
  // coroutine's slot closes the HTTP stream at once (the socket is closed, not drained) and the
  // call returns provider_errc::cancelled promptly; a pending retry wait or a wait for a
  // concurrency slot is abandoned likewise.
  virtual boost::asio::awaitable<result<completion>> async_complete(request req,
                                                                    event_sink sink) = 0;
};

}  // namespace exai::providers
