// Compiles a tool's inputSchema once with valijson and turns its error list into one message that
// names the failing field. Only Boost.JSON and valijson here (no Asio).
#include "daemon/schema_validator.hpp"

// Without this valijson prints and calls abort() on a malformed schema; a daemon must survive a bad
// tool definition, so it throws and add() turns that into an error. Only this TU includes valijson.
#define VALIJSON_USE_EXCEPTIONS 1

#include <boost/json/serialize.hpp>

#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include <exception>
#include <utility>

namespace exai::daemon {

namespace json = boost::json;

struct schema_validator::impl {
  json::value schema;  // kept to look up the declared type of a failing field
  valijson::Schema compiled;
};

schema_validator::schema_validator(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
schema_validator::schema_validator(schema_validator&&) noexcept = default;
schema_validator& schema_validator::operator=(schema_validator&&) noexcept = default;
schema_validator::~schema_validator() = default;

codecs::result<schema_validator> schema_validator::compile(const json::object& schema) {
  auto p = std::make_unique<impl>();
  p->schema = schema;
  try {
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::BoostJsonAdapter adapter(p->schema);
    parser.populateSchema(adapter, p->compiled);
  } catch (const std::exception& e) {
    return codecs::error(codecs::errc::invalid_params, std::string("invalid inputSchema: ") + e.what());
  }
  return schema_validator(std::move(p));
}

namespace {

std::string_view instance_type(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "boolean";
    case json::kind::int64:
    case json::kind::uint64: return "integer";
    case json::kind::double_: return "number";
    case json::kind::string: return "string";
    case json::kind::array: return "array";
    case json::kind::object: return "object";
  }
  return "value";
}

// valijson contexts look like {"<root>", "[text]", "[0]"}; the brackets hide whether a segment is
// a property or an index, so the instance is walked alongside to tell them apart.
struct located {
  std::string path;
  const json::value* instance = nullptr;  // null when the path leaves the instance
  const json::value* schema = nullptr;    // the subschema for it, when found by simple descent
};

const json::value* member(const json::value* v, std::string_view key) {
  if (!v || !v->is_object()) return nullptr;
  return v->as_object().if_contains(key);
}

located locate(const std::vector<std::string>& context, const json::value& args,
               const json::value& schema, const std::string& root) {
  located at{root, &args, &schema};
  for (std::size_t i = 1; i < context.size(); ++i) {  // [0] is "<root>"
    std::string seg = context[i];
    if (seg.size() >= 2 && seg.front() == '[' && seg.back() == ']') seg = seg.substr(1, seg.size() - 2);
    const json::value* inst = at.instance;
    if (inst && inst->is_array()) {
      at.path += "[" + seg + "]";
      std::size_t idx = 0;
      bool numeric = !seg.empty() && seg.find_first_not_of("0123456789") == std::string::npos;
      if (numeric) idx = std::stoul(seg);
      at.instance = numeric && idx < inst->as_array().size() ? &inst->as_array()[idx] : nullptr;
      const json::value* items = member(at.schema, "items");
      if (items && items->is_array())
        at.schema = idx < items->as_array().size() ? &items->as_array()[idx] : nullptr;
      else
        at.schema = items;
    } else {
      at.path += "." + seg;
      at.instance = inst && inst->is_object() ? inst->as_object().if_contains(seg) : nullptr;
      const json::value* next = member(member(at.schema, "properties"), seg);
      if (!next) {
        const json::value* extra = member(at.schema, "additionalProperties");
        next = extra && extra->is_object() ? extra : nullptr;
      }
      at.schema = next;
    }
  }
  return at;
}

std::string declared_types(const json::value* schema) {
  const json::value* t = member(schema, "type");
  if (!t) return {};
  if (t->is_string()) return std::string(t->as_string());
  std::string out;
  if (t->is_array()) {
    for (const auto& e : t->as_array()) {
      if (!e.is_string()) continue;
      if (!out.empty()) out += " or ";
      out += std::string(e.as_string());
    }
  }
  return out;
}

// valijson's sentences, made to read as the tail of "path: ...".
std::string tidy(std::string d) {
  while (!d.empty() && (d.back() == '.' || d.back() == ' ')) d.pop_back();
  if (!d.empty() && d[0] >= 'A' && d[0] <= 'Z' && !(d.size() > 1 && d[1] >= 'A' && d[1] <= 'Z'))
    d[0] = static_cast<char>(d[0] - 'A' + 'a');
  return d;
}

}  // namespace

std::optional<std::string> schema_validator::validate(const json::value& args,
                                                      const std::string& root) const {
  valijson::Validator validator(valijson::Validator::kStrongTypes);
  valijson::ValidationResults results;
  valijson::adapters::BoostJsonAdapter target(args);
  bool ok = false;
  try {
    ok = validator.validate(impl_->compiled, target, &results);
  } catch (const std::exception& e) {
    return root + ": could not be validated (" + e.what() + ")";
  }
  if (ok) return std::nullopt;

  // valijson reports the innermost failure first and then each enclosing one ("Failed to validate
  // against schema associated with property name ..."): the deepest context is the useful one.
  const valijson::ValidationResults::Error* best = nullptr;
  for (const auto& e : results)
    if (!best || e.context.size() > best->context.size()) best = &e;
  if (!best) return root + ": does not match the schema";

  located at = locate(best->context, args, impl_->schema, root);
  std::string what;
  if (best->description.find("'type' constraint") != std::string::npos) {
    std::string want = declared_types(at.schema);
    std::string got = at.instance ? std::string(instance_type(*at.instance)) : std::string("value");
    what = want.empty() ? "wrong type " + got : "expected " + want + ", got " + got;
  } else {
    what = tidy(best->description);
  }
  return at.path + ": " + what;
}

}  // namespace exai::daemon
