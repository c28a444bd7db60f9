// The model catalogue: exai-tools-reference.md §2.2 (the intended tables, with MiniMax M2's
// documented 204 800 context) and the timeout multipliers of §2.5. Timeouts are filled in by the
// registry from the provider's base timeout.
#include "providers/registry.hpp"

namespace exai::providers {

namespace {

model_info m(std::string name, std::vector<std::string> aliases, std::string provider,
             std::uint32_t ctx, std::uint32_t out, bool thinking, bool vision, bool tools,
             double mult) {
  model_info i;
  i.name = std::move(name);
  i.aliases = std::move(aliases);
  i.provider = std::move(provider);
  i.context_window = ctx;
  i.max_output = out;
  i.thinking = thinking;
  i.vision = vision;
  i.tools = tools;
  i.timeout_multiplier = mult;
  return i;
}

const std::vector<model_info>& table() {
  static const std::vector<model_info> t = {
      // GLM (Z.ai)
      m("glm-4.6", {}, "glm", 200'000, 8192, true, true, true, 1.3),
      m("glm-4.5", {}, "glm", 128'000, 8192, true, true, true, 1.0),
      m("glm-4.5-air", {"glm-4.5-x"}, "glm", 128'000, 8192, true, true, true, 0.6),
      m("glm-4.5-flash", {}, "glm", 128'000, 8192, false, true, true, 0.7),
      m("glm-4.5v", {}, "glm", 65'536, 8192, false, true, true, 1.0),
      // Kimi (Moonshot)
      m("kimi-k2-0905-preview", {"kimi-k2-0905", "kimi-k2"}, "kimi", 262'144, 8192, false, true,
        true, 1.2),
      m("kimi-k2-turbo-preview", {"kimi-k2-turbo"}, "kimi", 262'144, 8192, false, true, true, 0.8),
      m("kimi-k2-0711-preview", {"kimi-k2-0711"}, "kimi", 131'072, 8192, false, false, true, 1.0),
      m("kimi-thinking-preview", {"kimi-thinking"}, "kimi", 131'072, 8192, true, true, true, 1.5),
      m("kimi-k2-thinking", {}, "kimi", 262'144, 8192, true, false, true, 1.5),
      m("kimi-k2-thinking-turbo", {}, "kimi", 262'144, 8192, true, false, true, 1.5),
      m("kimi-latest", {}, "kimi", 128'000, 8192, false, true, true, 1.0),
      m("kimi-latest-8k", {}, "kimi", 8192, 2048, false, true, true, 1.0),
      m("kimi-latest-32k", {}, "kimi", 32'768, 4096, false, true, true, 1.0),
      m("kimi-latest-128k", {}, "kimi", 131'072, 8192, false, true, true, 1.0),
      m("moonshot-v1-8k", {}, "kimi", 8192, 2048, false, false, false, 1.0),
      m("moonshot-v1-32k", {}, "kimi", 32'768, 4096, false, false, false, 1.0),
      m("moonshot-v1-128k", {}, "kimi", 128'000, 8192, false, false, false, 1.0),
      m("moonshot-v1-8k-vision-preview", {"moonshot-v1-8k-vision"}, "kimi", 8192, 2048, false,
        true, false, 1.0),
      m("moonshot-v1-32k-vision-preview", {}, "kimi", 32'768, 4096, false, true, false, 1.0),
      m("moonshot-v1-128k-vision-preview", {}, "kimi", 128'000, 8192, false, true, false, 1.0),
      // MiniMax (Anthropic-compatible): text and tool blocks only, no images.
      m("MiniMax-M2", {"minimax-m2", "m2"}, "minimax", 204'800, 8192, true, false, true, 1.0),
      m("MiniMax-M2-Stable", {"minimax-m2-stable", "m2-stable"}, "minimax", 204'800, 8192, true,
        false, true, 1.0),
  };
  return t;
}

}  // namespace

std::span<const model_info> catalogue() { return table(); }

}  // namespace exai::providers
