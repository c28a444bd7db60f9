// Per-message dialect detection (house-style 2; exai-op-protocol.md section 5): pure, with an
// explicit "neither" for objects that are both, neither, or not objects at all.
#include "codecs/classify.hpp"

namespace exai::codecs {

classification classify(const boost::json::value& v) noexcept {
  if (v.is_array()) return classification::jsonrpc_batch;
  const auto* obj = v.if_object();
  if (!obj) return classification::neither;
  // One pass over the members rather than two lookups (issue 7 profile: every message).
  const boost::json::value* jsonrpc = nullptr;
  const boost::json::value* op = nullptr;
  for (const auto& kv : *obj) {
    if (kv.key() == "jsonrpc") jsonrpc = &kv.value();
    else if (kv.key() == "op") op = &kv.value();
  }
  if (jsonrpc && op) return classification::neither;
  if (jsonrpc) {
    const auto* s = jsonrpc->if_string();
    return s && *s == "2.0" ? classification::jsonrpc : classification::neither;
  }
  if (op && op->is_string()) return classification::op;
  return classification::neither;
}

}  // namespace exai::codecs
