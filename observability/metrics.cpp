// The metrics registry: families of counters, gauges and histograms keyed by labels, rendered in
// the Prometheus text exposition format 0.0.4 (prometheus.io/docs/instrumenting/exposition_formats).
#include "observability/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace exai::obs {
namespace {

enum class kind { counter, gauge, histogram };

std::string_view kind_name(kind k) {
  switch (k) {
    case kind::counter: return "counter";
    case kind::gauge: return "gauge";
    case kind::histogram: return "histogram";
  }
  return "untyped";
}

// Exposition format: metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
// [a-zA-Z_][a-zA-Z0-9_]*; names starting with "__" are reserved.
bool valid_name(std::string_view s, bool allow_colon) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

void check_labels(std::string_view metric, const labels& l, kind k) {
  for (std::size_t i = 0; i < l.size(); ++i) {
    const auto& name = l[i].first;
    if (!valid_name(name, false) || name.starts_with("__"))
      throw std::logic_error("metric " + std::string(metric) + ": bad label name '" + name + "'");
    if (k == kind::histogram && name == "le")
      throw std::logic_error("metric " + std::string(metric) + ": 'le' is reserved in histograms");
    for (std::size_t j = 0; j < i; ++j)
      if (l[j].first == name)
        throw std::logic_error("metric " + std::string(metric) + ": duplicate label '" + name + "'");
  }
}

// HELP text escapes backslash and newline; label values also escape the double quote.
void append_escaped(std::string& out, std::string_view s, bool quote) {
  for (char c : s) {
    if (c == '\\') out.append("\\\\");
    else if (c == '\n') out.append("\\n");
    else if (quote && c == '"') out.append("\\\"");
    else out.push_back(c);
  }
}

template <class T>
void append_number(std::string& out, T v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_double(std::string& out, double v) {
  if (std::isnan(v)) out.append("NaN");
  else if (std::isinf(v)) out.append(v > 0 ? "+Inf" : "-Inf");
  else {
    // Shortest fixed-point form that reads back the same: "0.0001" (not "1e-04"), "2.5", "60".
    char buf[400];
    auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
    out.append(buf, r.ptr);
  }
}

// {a="x",b="y"} plus an optional trailing le; nothing at all for no labels.
void append_labels(std::string& out, const labels& l, std::string_view le = {}) {
  if (l.empty() && le.empty()) return;
  out.push_back('{');
  bool first = true;
  for (const auto& [k, v] : l) {
    if (!first) out.push_back(',');
    first = false;
    out.append(k);
    out.append("=\"");
    append_escaped(out, v, true);
    out.push_back('"');
  }
  if (!le.empty()) {
    if (!first) out.push_back(',');
    out.append("le=\"");
    out.append(le);
    out.push_back('"');
  }
  out.push_back('}');
}

}  // namespace

struct registry::family {
  struct series {
    labels shown;  // as first given: render order
    std::unique_ptr<counter> c;
    std::unique_ptr<gauge> g;
    std::unique_ptr<histogram> h;
  };
  std::string name;
  std::string help;
  kind type;
  // Keyed by the labels sorted by name, so {a,b} and {b,a} are one series.
  std::map<labels, series> by_labels;
};

// --- histogram -------------------------------------------------------------------------------

histogram::histogram() : buckets_(new std::atomic<std::uint64_t>[bounds().size() + 1]) {
  for (std::size_t i = 0; i <= bounds().size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

const std::vector<double>& histogram::bounds() {
  static const std::vector<double> b{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                     0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                     1,      2.5,     5,      10,    30,     60};
  return b;
}

void histogram::observe(double seconds) noexcept {
  if (!(seconds >= 0)) seconds = 0;  // negatives and NaN: a clock quirk, count as zero
  if (seconds > 1e9) seconds = 1e9;  // keeps the microsecond sum from overflowing
  const auto& b = bounds();
  // Buckets are "less than or equal": the first bound >= the value.
  std::size_t i = static_cast<std::size_t>(std::lower_bound(b.begin(), b.end(), seconds) - b.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(static_cast<std::uint64_t>(std::llround(seconds * 1e6)), std::memory_order_relaxed);
}

std::uint64_t histogram::count() const noexcept { return count_.load(std::memory_order_relaxed); }

double histogram::sum() const noexcept {
  return static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / 1e6;
}

std::uint64_t histogram::bucket(std::size_t i) const noexcept {
  return i <= bounds().size() ? buckets_[i].load(std::memory_order_relaxed) : 0;
}

// --- registry --------------------------------------------------------------------------------

registry::registry() = default;
registry::~registry() = default;

namespace {

template <class Family>
typename Family::series& find_or_add(std::map<std::string, std::unique_ptr<Family>, std::less<>>& families,
                                     std::string_view name, std::string_view help, const labels& l,
                                     kind k) {
  auto it = families.find(name);
  if (it == families.end()) {
    if (!valid_name(name, true) || name.starts_with("__"))
      throw std::logic_error("bad metric name '" + std::string(name) + "'");
    auto f = std::make_unique<Family>();
    f->name = std::string(name);
    f->help = std::string(help);
    f->type = k;
    it = families.emplace(std::string(name), std::move(f)).first;
  } else if (it->second->type != k) {
    throw std::logic_error("metric " + std::string(name) + " is a " +
                           std::string(kind_name(it->second->type)) + ", not a " +
                           std::string(kind_name(k)));
  }
  Family& fam = *it->second;
  labels key = l;
  std::sort(key.begin(), key.end());
  auto s = fam.by_labels.find(key);
  if (s != fam.by_labels.end()) return s->second;
  check_labels(name, l, k);
  auto& ser = fam.by_labels[std::move(key)];
  ser.shown = l;
  switch (k) {
    case kind::counter: ser.c = std::make_unique<counter>(); break;
    case kind::gauge: ser.g = std::make_unique<gauge>(); break;
    case kind::histogram: ser.h = std::make_unique<histogram>(); break;
  }
  return ser;
}

}  // namespace

counter& registry::get_counter(std::string_view name, std::string_view help, const labels& l) {
  std::lock_guard lk(mu_);
  return *find_or_add(families_, name, help, l, kind::counter).c;
}

gauge& registry::get_gauge(std::string_view name, std::string_view help, const labels& l) {
  std::lock_guard lk(mu_);
  return *find_or_add(families_, name, help, l, kind::gauge).g;
}

histogram& registry::get_histogram(std::string_view name, std::string_view help, const labels& l) {
  std::lock_guard lk(mu_);
  return *find_or_add(families_, name, help, l, kind::histogram).h;
}

std::string registry::render() const {
  std::string out;
  std::lock_guard lk(mu_);
  for (const auto& [name, fam] : families_) {
    out.append("# HELP ").append(name).push_back(' ');
    append_escaped(out, fam->help, false);
    out.append("\n# TYPE ").append(name).push_back(' ');
    out.append(kind_name(fam->type)).push_back('\n');
    for (const auto& entry : fam->by_labels) {
      const auto& s = entry.second;  // a plain reference: lambdas capture it on every compiler
      // One sample line: NAME{labels} VALUE (the counter's and the gauge's value types differ).
      const auto sample = [&out, &name, &s](auto value) {
        out.append(name);
        append_labels(out, s.shown);
        out.push_back(' ');
        append_number(out, value);
        out.push_back('\n');
      };
      switch (fam->type) {
        case kind::counter:
          sample(s.c->value());
          break;
        case kind::gauge:
          sample(s.g->value());
          break;
        case kind::histogram: {
          const auto& b = histogram::bounds();
          // Buckets are cumulative; _count is their total so the +Inf bucket and _count agree
          // even while other threads observe concurrently.
          std::uint64_t cumulative = 0;
          for (std::size_t i = 0; i <= b.size(); ++i) {
            cumulative += s.h->bucket(i);
            std::string le;
            if (i < b.size()) append_double(le, b[i]);
            else le = "+Inf";
            out.append(name).append("_bucket");
            append_labels(out, s.shown, le);
            out.push_back(' ');
            append_number(out, cumulative);
            out.push_back('\n');
          }
          out.append(name).append("_sum");
          append_labels(out, s.shown);
          out.push_back(' ');
          append_double(out, s.h->sum());
          out.push_back('\n');
          out.append(name).append("_count");
          append_labels(out, s.shown);
          out.push_back(' ');
          append_number(out, cumulative);
          out.push_back('\n');
          break;
        }
      }
    }
  }
  return out;
}

registry& metrics() {
  // Leaked on purpose: objects in other static destructors may still hold references.
  static auto* r = new registry;
  return *r;
}

}  // namespace exai::obs
