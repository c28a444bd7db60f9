// Metrics registry: exact Prometheus text 0.0.4 for a small registry, label escaping, histogram
// buckets, series identity, programming errors, and the shared metric names (issue 6).
#include <boost/test/unit_test.hpp>

#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "observability/metric_names.hpp"
#include "observability/metrics.hpp"

namespace obs = exai::obs;

BOOST_AUTO_TEST_SUITE(metrics_render)

BOOST_AUTO_TEST_CASE(small_registry_exact_text) {
  obs::registry r;
  r.get_counter("exai_requests_total", "Requests answered.",
                {{"method", "tools/call"}, {"tool", "echo"}, {"outcome", "ok"}})
      .inc(3);
  r.get_counter("exai_requests_total", "Requests answered.",
                {{"method", "tools/call"}, {"tool", "echo"}, {"outcome", "error"}})
      .inc();
  r.get_gauge("exai_inflight_requests", "In flight.").set(2);
  auto& h = r.get_histogram("exai_request_duration_seconds", "Latency.", {{"tool", "echo"}});
  h.observe(0.0001);  // on a bound: "le" is inclusive
  h.observe(0.003);
  h.observe(0.5);
  h.observe(100);  // beyond the last bound: only +Inf

  const std::string expected =
      "# HELP exai_inflight_requests In flight.\n"
      "# TYPE exai_inflight_requests gauge\n"
      "exai_inflight_requests 2\n"
      "# HELP exai_request_duration_seconds Latency.\n"
      "# TYPE exai_request_duration_seconds histogram\n"
      "exai_request_duration_seconds_bucket{tool=\"echo\",le=\"0.0001\"} 1\n"
      "exai_request_duration_seconds_bucket{tool=\"echo\",le=\"0.00025\"} 1\n"
      "exai_request_duration_seconds_bucket{tool=\"echo\",le=\"0.0005\"} 1\n"
      "exai_request_duration_seconds_bucket{tool=\"echo\",le=\"0.001\"} 1\n"
      "exai_request_duration_seconds_bucket{tool=\"echo\",le=\"0.0025\"} 1\n"
      "exai_request_duration_seconds_bucket{tool=\"echo\",le=\"0.005\"} 2\n"
      "exai_request_duration_seconds_bucket{tool=\"echo\",le=\"0.01\"} 2\n"
      "exai_request_duration_seconds_bucket{tool=\"echo\",le=\"0.025\"} 2\n"
      "exai_request_duration_seconds_bucket{tool=\"echo\",le=\"0.05\"} 2\n"
      "exai_request_duration_seconds_bucket{tool=\"echo\",le=\"0.1\"} 2\n"
      "exai_request_duration_seconds_bucket{tool=\"echo\",le=\"0.25\"} 2\n"
      "exai_request_duration_seconds_bucket{tool=\"echo\",le=\"0.5\"} 3\n"
      "exai_request_duration_seconds_bucket{tool=\"echo\",le=\"1\"} 3\n"
      "exai_request_duration_seconds_bucket{tool=\"echo\",le=\"2.5\"} 3\n"
      "exai_request_duration_seconds_bucket{tool=\"echo\",le=\"5\"} 3\n"
      "exai_request_duration_seconds_bucket{tool=\"echo\",le=\"10\"} 3\n"
      "exai_request_duration_seconds_bucket{tool=\"echo\",le=\"30\"} 3\n"
      "exai_request_duration_seconds_bucket{tool=\"echo\",le=\"60\"} 3\n"
      "exai_request_duration_seconds_bucket{tool=\"echo\",le=\"+Inf\"} 4\n"
      "exai_request_duration_seconds_sum{tool=\"echo\"} 100.5031\n"
      "exai_request_duration_seconds_count{tool=\"echo\"} 4\n"
      "# HELP exai_requests_total Requests answered.\n"
      "# TYPE exai_requests_total counter\n"
      "exai_requests_total{method=\"tools/call\",tool=\"echo\",outcome=\"error\"} 1\n"
      "exai_requests_total{method=\"tools/call\",tool=\"echo\",outcome=\"ok\"} 3\n";
  BOOST_TEST(r.render() == expected);
}

BOOST_AUTO_TEST_CASE(empty_registry_renders_nothing) {
  obs::registry r;
  BOOST_TEST(r.render().empty());
}

BOOST_AUTO_TEST_CASE(label_values_and_help_are_escaped) {
  obs::registry r;
  r.get_counter("x_total", "Help with \\ and\nnewline \"quotes\" kept.",
                {{"path", "C:\\dir"}, {"q", "say \"hi\""}, {"nl", "a\nb"}})
      .inc(5);
  const std::string expected =
      "# HELP x_total Help with \\\\ and\\nnewline \"quotes\" kept.\n"
      "# TYPE x_total counter\n"
      "x_total{path=\"C:\\\\dir\",q=\"say \\\"hi\\\"\",nl=\"a\\nb\"} 5\n";
  BOOST_TEST(r.render() == expected);
}

BOOST_AUTO_TEST_CASE(negative_gauges) {
  obs::registry r;
  auto& g = r.get_gauge("g", "G.");
  g.add(3);
  g.add(-5);
  BOOST_TEST(r.render() == "# HELP g G.\n# TYPE g gauge\ng -2\n");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(metrics_histogram)

BOOST_AUTO_TEST_CASE(bounds_are_the_documented_ones) {
  const std::vector<double> want{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                 0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30,    60};
  BOOST_TEST(obs::histogram::bounds() == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(buckets_are_le_inclusive_and_non_cumulative_internally) {
  obs::histogram h;
  h.observe(0);        // bucket 0
  h.observe(-1);       // a clock quirk: counts as zero
  h.observe(0.00011);  // bucket 1 (le 0.00025)
  h.observe(1);        // bucket 12 (le 1)
  h.observe(1.0001);   // bucket 13 (le 2.5)
  h.observe(60);       // bucket 17 (le 60)
  h.observe(61);       // +Inf, index 18
  BOOST_TEST(h.count() == 7u);
  BOOST_TEST(h.bucket(0) == 2u);
  BOOST_TEST(h.bucket(1) == 1u);
  BOOST_TEST(h.bucket(12) == 1u);
  BOOST_TEST(h.bucket(13) == 1u);
  BOOST_TEST(h.bucket(17) == 1u);
  BOOST_TEST(h.bucket(18) == 1u);
  BOOST_TEST(h.bucket(19) == 0u);  // out of range
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= obs::histogram::bounds().size(); ++i) total += h.bucket(i);
  BOOST_TEST(total == 7u);
  BOOST_TEST(h.sum() == 0.00011 + 1 + 1.0001 + 60 + 61, boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(rendered_buckets_are_cumulative) {
  obs::registry r;
  auto& h = r.get_histogram("lat_seconds", "L.");
  for (int i = 0; i < 3; ++i) h.observe(0.002);  // le 0.0025
  for (int i = 0; i < 2; ++i) h.observe(0.2);    // le 0.25
  std::string text = r.render();
  BOOST_TEST(text.find("lat_seconds_bucket{le=\"0.001\"} 0\n") != std::string::npos);
  BOOST_TEST(text.find("lat_seconds_bucket{le=\"0.0025\"} 3\n") != std::string::npos);
  BOOST_TEST(text.find("lat_seconds_bucket{le=\"0.1\"} 3\n") != std::string::npos);
  BOOST_TEST(text.find("lat_seconds_bucket{le=\"0.25\"} 5\n") != std::string::npos);
  BOOST_TEST(text.find("lat_seconds_bucket{le=\"+Inf\"} 5\n") != std::string::npos);
  BOOST_TEST(text.find("lat_seconds_count 5\n") != std::string::npos);
  BOOST_TEST(text.find("lat_seconds_sum 0.406\n") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(metrics_registry)

BOOST_AUTO_TEST_CASE(same_name_and_labels_is_the_same_object) {
  obs::registry r;
  auto& a = r.get_counter("c_total", "C.", {{"a", "1"}, {"b", "2"}});
  auto& b = r.get_counter("c_total", "C.", {{"b", "2"}, {"a", "1"}});  // order does not matter
  auto& other = r.get_counter("c_total", "C.", {{"a", "1"}, {"b", "3"}});
  BOOST_TEST(&a == &b);
  BOOST_TEST(&a != &other);
  a.inc();
  b.inc(2);
  BOOST_TEST(a.value() == 3u);
  BOOST_TEST(other.value() == 0u);
  BOOST_TEST(&r.get_gauge("g", "G.") == &r.get_gauge("g", "G."));
  BOOST_TEST(&r.get_histogram("h", "H.") == &r.get_histogram("h", "H."));
}

BOOST_AUTO_TEST_CASE(type_mismatch_is_a_logic_error) {
  obs::registry r;
  r.get_counter("m", "M.");
  BOOST_CHECK_THROW(r.get_gauge("m", "M."), std::logic_error);
  BOOST_CHECK_THROW(r.get_histogram("m", "M.", {{"x", "y"}}), std::logic_error);
  r.get_histogram("h", "H.");
  BOOST_CHECK_THROW(r.get_counter("h", "H."), std::logic_error);
}

BOOST_AUTO_TEST_CASE(bad_names_are_logic_errors) {
  obs::registry r;
  BOOST_CHECK_THROW(r.get_counter("", "E."), std::logic_error);
  BOOST_CHECK_THROW(r.get_counter("1abc", "E."), std::logic_error);
  BOOST_CHECK_THROW(r.get_counter("a-b", "E."), std::logic_error);
  BOOST_CHECK_THROW(r.get_counter("ok_total", "E.", {{"bad-label", "v"}}), std::logic_error);
  BOOST_CHECK_THROW(r.get_counter("ok_total", "E.", {{"__reserved", "v"}}), std::logic_error);
  BOOST_CHECK_THROW(r.get_counter("ok_total", "E.", {{"a", "1"}, {"a", "2"}}), std::logic_error);
  BOOST_CHECK_THROW(r.get_histogram("h_seconds", "E.", {{"le", "1"}}), std::logic_error);
  BOOST_CHECK_NO_THROW(r.get_counter("ns:ok_total", "Colons are allowed in names."));
}

BOOST_AUTO_TEST_CASE(concurrent_updates_add_up) {
  obs::registry r;
  constexpr int threads = 4, per_thread = 20000;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&r] {
      // Lookups race too: every thread must get the same series.
      auto& c = r.get_counter("n_total", "N.", {{"k", "v"}});
      auto& h = r.get_histogram("d_seconds", "D.");
      for (int i = 0; i < per_thread; ++i) {
        c.inc();
        h.observe(0.01);
      }
    });
  for (auto& th : pool) th.join();
  BOOST_TEST(r.get_counter("n_total", "N.", {{"k", "v"}}).value() == std::uint64_t(threads * per_thread));
  BOOST_TEST(r.get_histogram("d_seconds", "D.").count() == std::uint64_t(threads * per_thread));
  BOOST_TEST(r.render().find("d_seconds_bucket{le=\"0.01\"} 80000\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(process_registry_is_one_object) {
  BOOST_TEST(&obs::metrics() == &obs::metrics());
}

BOOST_AUTO_TEST_CASE(shared_metric_names_are_valid_and_distinct) {
  namespace n = obs::names;
  std::set<std::string_view> seen;
  obs::registry r;
  for (const auto& m : n::all) {
    BOOST_TEST(seen.insert(m.name).second, "duplicate " << m.name);
    BOOST_TEST(m.name.starts_with("exai_"));
    BOOST_TEST(!m.help.empty());
    BOOST_CHECK_NO_THROW(r.get_gauge(m.name, m.help));  // a valid Prometheus name
  }
  BOOST_TEST(seen.size() == 12u);
  BOOST_TEST(n::requests_total.name == "exai_requests_total");
  BOOST_TEST(n::request_duration_seconds.name == "exai_request_duration_seconds");
  BOOST_TEST(n::sessions.name == "exai_sessions");
  BOOST_TEST(n::upstream_connections.name == "exai_upstream_connections");
  BOOST_TEST(n::late_replies_dropped_total.name == "exai_late_replies_dropped_total");
}

BOOST_AUTO_TEST_SUITE_END()
