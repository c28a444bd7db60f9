// conf/grafana-dashboard.json queries exactly the metrics in observability/metric_names.hpp: every
// exported metric has a panel, and no panel asks for a name the gateway does not export.
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "observability/metric_names.hpp"

namespace json = boost::json;

namespace {

void collect_exprs(const json::value& v, std::string& out) {
  if (v.is_object()) {
    for (const auto& [k, child] : v.as_object()) {
      if (k == "expr" && child.is_string()) out.append(child.as_string()).push_back('\n');
      else collect_exprs(child, out);
    }
  } else if (v.is_array()) {
    for (const auto& child : v.as_array()) collect_exprs(child, out);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(dashboard_matches_the_metric_names) {
  std::ifstream in(EXAI_DASHBOARD_JSON);
  BOOST_REQUIRE_MESSAGE(in, "cannot read " EXAI_DASHBOARD_JSON);
  std::stringstream ss;
  ss << in.rdbuf();
  json::value dash = json::parse(ss.str());
  BOOST_TEST(dash.at("uid").as_string() == "exai-gateway");

  std::string exprs;
  collect_exprs(dash, exprs);
  std::set<std::string> used;
  std::regex name(R"(exai_[a-z_]+)");
  for (auto it = std::sregex_iterator(exprs.begin(), exprs.end(), name); it != std::sregex_iterator(); ++it)
    used.insert(it->str());

  std::set<std::string> exported;
  for (const auto& m : exai::obs::names::all) {
    exported.insert(std::string(m.name));
    if (m.name == exai::obs::names::request_duration_seconds.name)
      for (const char* suffix : {"_bucket", "_sum", "_count"})
        exported.insert(std::string(m.name) + suffix);
  }
  for (const auto& m : exai::obs::names::all) {
    std::string n(m.name);
    bool queried = used.count(n) || used.count(n + "_bucket");
    BOOST_TEST(queried, "no dashboard panel queries " << n);
  }
  for (const auto& u : used) BOOST_TEST(exported.count(u) == 1u, "dashboard queries unknown metric " << u);
}
