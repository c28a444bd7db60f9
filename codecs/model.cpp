// The canonical model's small helpers: table keys for client ids and text tool results.
#include "codecs/model.hpp"

#include <boost/json/serialize.hpp>

namespace exai::codecs {

// JSON-RPC ids are strings or integers (mcp-server-rules.md, "JSON-RPC base"). Boost.JSON keeps
// integers above INT64_MAX as uint64 and the rest as int64, so one number has one decimal
// spelling whichever kind holds it: both get the "i:" tag. Other kinds cannot be valid ids but
// still get distinct keys so the function is total.
std::string client_id::key() const {
  switch (value.kind()) {
    case boost::json::kind::string: {
      const auto& s = value.get_string();
      std::string k;
      k.reserve(s.size() + 2);
      k.append("s:").append(s.data(), s.size());
      return k;
    }
    case boost::json::kind::int64: return "i:" + std::to_string(value.get_int64());
    case boost::json::kind::uint64: return "i:" + std::to_string(value.get_uint64());
    case boost::json::kind::null: return "n:";
    case boost::json::kind::bool_: return value.get_bool() ? "b:true" : "b:false";
    case boost::json::kind::double_: return "d:" + boost::json::serialize(value);
    case boost::json::kind::object:
    case boost::json::kind::array: return "j:" + boost::json::serialize(value);
  }
  return "j:" + boost::json::serialize(value);
}

tool_result tool_result::text(std::string t, bool is_error) {
  tool_result r;
  r.content.push_back(boost::json::object{{"type", "text"}, {"text", std::move(t)}});
  r.is_error = is_error;
  return r;
}

}  // namespace exai::codecs
