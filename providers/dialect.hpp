// The wire dialects of the providers, pure (no I/O): request bodies built from the request model,
// and answers (a JSON body, or SSE events one at a time) decoded into provider events.
//  - openai: GLM and Kimi, `POST {base}/chat/completions` (exai-tools-reference.md §2.3-2.4);
//  - anthropic: MiniMax, `POST {base}/v1/messages`, named-event SSE.
#pragma once

#include "codecs/sse.hpp"
#include "providers/provider.hpp"
#include "providers/registry.hpp"

#include <boost/json/object.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace exai::providers::dialect {

enum class flavour { glm, kimi, minimax };

// The path appended to the provider's base URL.
std::string_view path(flavour f) noexcept;

// The JSON body for req sent to model m. Errors: provider_errc::unsupported for images sent to a
// model without vision (or to MiniMax, which takes none).
result<boost::json::object> build_body(flavour f, const request& req, const model_info& m);

// The answer of a non-streamed call, as the events a stream would have given.
result<std::vector<event>> decode_body(flavour f, std::string_view body);

// Decodes a streamed answer one SSE event at a time.
class stream_decoder {
 public:
  explicit stream_decoder(flavour f) : flavour_(f) {}

  // Appends what ev yields to out. Errors: provider_errc::protocol for data that is not the JSON
  // expected, provider_errc::server (or rate_limited) for an error the provider streams.
  result<void> on_event(const codecs::sse_event& ev, std::vector<event>& out);
  // True once the stream said it is complete (`[DONE]`, or `message_stop`).
  bool done() const noexcept { return done_; }
  // True once a finish reason was seen (some OpenAI-compatible servers end without [DONE]).
  bool finished() const noexcept { return finished_; }
  // Appends tool calls still being assembled (the stream ended without saying so).
  void flush(std::vector<event>& out);

 private:
  result<void> on_openai(const codecs::sse_event& ev, std::vector<event>& out);
  result<void> on_anthropic(const codecs::sse_event& ev, std::vector<event>& out);

  flavour flavour_;
  bool done_ = false;
  bool finished_ = false;
  std::map<std::int64_t, tool_call> calls_;   // OpenAI: by tool_calls[].index
  std::map<std::int64_t, std::string> block_type_;  // Anthropic: content block index -> type
  usage usage_;
};

// Folds one event into the aggregated completion.
void accumulate(completion& c, const event& e);

}  // namespace exai::providers::dialect
