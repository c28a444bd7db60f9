// conf/README.md documents every key of conf/gateway.json and conf/daemon.json (issue 6,
// "Configuration": every key documented): a key added to a shipped file without a line in its
// section of the README fails here, so the documentation cannot drift.
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace json = boost::json;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  BOOST_TEST_REQUIRE(static_cast<bool>(in), "cannot read " << path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every key path of the document, dotted ("log.level", "tools.timeouts_ms.thinkdeep"); objects
// inside arrays are walked too (their keys under the array's path).
void key_paths(const json::value& v, const std::string& prefix, std::vector<std::string>& out) {
  if (const auto* o = v.if_object()) {
    for (const auto& [k, child] : *o) {
      std::string path = prefix.empty() ? std::string(k) : prefix + "." + std::string(k);
      out.push_back(path);
      key_paths(child, path, out);
    }
  } else if (const auto* a = v.if_array()) {
    for (const auto& child : *a) key_paths(child, prefix, out);
  }
}

// The README section headed "## <heading>", up to the next "## ".
std::string section(const std::string& readme, const std::string& heading) {
  const std::string start = "\n## " + heading + "\n";
  auto b = readme.find(start);
  BOOST_TEST_REQUIRE(b != std::string::npos, "conf/README.md has no section \"## " << heading << "\"");
  auto e = readme.find("\n## ", b + start.size());
  return readme.substr(b, e == std::string::npos ? std::string::npos : e - b);
}

void check_documented(const std::string& file, const std::string& heading) {
  const std::string readme = slurp(EXAI_CONF_DIR "/README.md");
  const std::string text = section(readme, heading);
  json::parse_options po;
  po.allow_comments = true;  // daemon.json may carry // comments
  po.allow_trailing_commas = true;
  const json::value doc = json::parse(slurp(std::string(EXAI_CONF_DIR "/") + file), {}, po);
  std::vector<std::string> paths;
  key_paths(doc, "", paths);
  BOOST_TEST(paths.size() > 5u, file << " has too few keys to be the real file");
  for (const auto& p : paths) {
    BOOST_TEST(text.find("`" + p + "`") != std::string::npos,
               file << ": key `" << p << "` is not documented in conf/README.md (## " << heading << ")");
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_key_of_gateway_json_is_documented) {
  check_documented("gateway.json", "conf/gateway.json");
}

BOOST_AUTO_TEST_CASE(every_key_of_daemon_json_is_documented) {
  check_documented("daemon.json", "conf/daemon.json");
}

BOOST_AUTO_TEST_CASE(environment_and_logging_options_are_documented) {
  const std::string readme = slurp(EXAI_CONF_DIR "/README.md");
  for (const char* name : {"LOG_LEVEL", "EXAI_WS_HOST", "EXAI_WS_PORT", "EXAI_WS_TOKEN",
                           "EXAI_GATEWAY_TOKEN", "EXAI_WS_MAX_BYTES", "EXAI_WS_HELLO_TIMEOUT",
                           "--log-level", "--log-format", "--log-file", "--print-config"}) {
    BOOST_TEST(readme.find(std::string("`") + name) != std::string::npos, name << " is not documented");
  }
}
