// Log sinks through real file descriptors: stderr only (stdout stays clean for the stdio
// transport), before and after init(); the size-rotated log file keeps at most keep_files.
#define BOOST_TEST_MODULE observability sinks
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "observability/log.hpp"
#include "tests/support/files.hpp"

namespace fs = std::filesystem;
namespace obs = exai::obs;
using exai::test::lines_of;
using exai::test::read_file;
using exai::test::temp_dir;

namespace {

// Points fd 1 and fd 2 at files for the lifetime of the object.
struct redirect_stdio {
  fs::path out_path, err_path;
  int saved_out = -1, saved_err = -1;
  explicit redirect_stdio(const fs::path& dir) : out_path(dir / "stdout"), err_path(dir / "stderr") {
    std::cout.flush();
    std::cerr.flush();
    std::fflush(nullptr);
    saved_out = ::dup(1);
    saved_err = ::dup(2);
    int o = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(o, 1);
    ::dup2(e, 2);
    ::close(o);
    ::close(e);
  }
  ~redirect_stdio() { restore(); }
  void restore() {
    if (saved_out < 0) return;
    std::cout.flush();
    std::cerr.flush();
    std::fflush(nullptr);
    ::dup2(saved_out, 1);
    ::dup2(saved_err, 2);
    ::close(saved_out);
    ::close(saved_err);
    saved_out = saved_err = -1;
  }
};

}  // namespace

// Must run first: the process has not called init(), and Boost.Log's own default sink would
// print to stdout.
BOOST_AUTO_TEST_CASE(records_before_init_go_to_stderr_only) {
  temp_dir dir("preinit");
  redirect_stdio io(dir);
  EXAI_LOG(info, "gateway", "before init", {"k", 1});
  EXAI_LOG(debug, "gateway", "below the default level");
  io.restore();
  BOOST_TEST(read_file(io.out_path).empty());
  auto err = lines_of(read_file(io.err_path));
  BOOST_REQUIRE_EQUAL(err.size(), 1u);
  BOOST_TEST(err[0].ends_with(" INFO  gateway: before init k=1"));
}

BOOST_AUTO_TEST_CASE(json_lines_on_stderr_after_init) {
  temp_dir dir("json");
  redirect_stdio io(dir);
  obs::log_options o;
  o.json = true;
  o.min_level = obs::level::debug;
  obs::init(o);
  EXAI_LOG(debug, "pool", "connected", {"upstream", "ws://127.0.0.1:3010"}, {"token", "t0p"});
  EXAI_LOG(trace, "pool", "below debug");
  obs::init(obs::log_options{});
  io.restore();
  BOOST_TEST(read_file(io.out_path).empty());
  std::string err = read_file(io.err_path);
  BOOST_TEST(err.find("t0p") == std::string::npos);
  auto lines = lines_of(err);
  BOOST_REQUIRE_EQUAL(lines.size(), 1u);
  auto v = boost::json::parse(lines[0]).as_object();
  BOOST_TEST(std::string(v.at("level").as_string()) == "debug");
  BOOST_TEST(std::string(v.at("upstream").as_string()) == "ws://127.0.0.1:3010");
  BOOST_TEST(std::string(v.at("token").as_string()) == "***");
}

BOOST_AUTO_TEST_CASE(file_sink_rotates_by_size_and_keeps_n_files) {
  temp_dir dir("rotate");
  redirect_stdio io(dir);
  obs::log_options o;
  o.json = true;
  o.file = (dir / "gateway.log").string();
  o.rotate_bytes = 2000;
  o.keep_files = 2;
  obs::init(o);
  const std::string pad(80, 'x');
  constexpr int records = 300;  // ~45 KB: many rotations
  for (int i = 0; i < records; ++i) EXAI_LOG(info, "gateway", "record", {"i", i}, {"pad", pad});
  obs::init(obs::log_options{});  // detaches the file sink
  EXAI_LOG(info, "gateway", "after detaching the file");
  io.restore();

  BOOST_TEST(read_file(io.out_path).empty());
  BOOST_TEST(lines_of(read_file(io.err_path)).size() == std::size_t(records + 1));

  std::vector<fs::path> rotated;
  bool active_seen = false;
  for (const auto& e : fs::directory_iterator(dir.path)) {
    auto name = e.path().filename().string();
    if (name == "gateway.log") active_seen = true;
    else if (name.starts_with("gateway.") && name.ends_with(".log")) rotated.push_back(e.path());
  }
  BOOST_TEST(active_seen);
  BOOST_TEST(rotated.size() == 2u, "rotated files kept: " << rotated.size());

  // Every kept file is within the size limit (plus at most one record) and holds whole JSON
  // records; the newest records are in the active file, the detached sink saw nothing after.
  int last_i = -1;
  std::string active = read_file(dir / "gateway.log");
  BOOST_TEST(active.find("after detaching") == std::string::npos);
  for (const auto& p : rotated) BOOST_TEST(fs::file_size(p) <= 2000u + 200u);
  for (const auto& l : lines_of(active)) {
    auto v = boost::json::parse(l).as_object();
    last_i = v.at("i").to_number<int>();
  }
  BOOST_TEST(last_i == records - 1);
}

BOOST_AUTO_TEST_CASE(unwritable_log_file_fails_init_clearly) {
  obs::log_options o;
  o.file = "/nonexistent-dir-for-exai/x.log";
  BOOST_CHECK_EXCEPTION(obs::init(o), std::runtime_error, [](const std::runtime_error& e) {
    return std::string(e.what()).find("/nonexistent-dir-for-exai/x.log") != std::string::npos;
  });
  // Logging still works, on stderr.
  temp_dir dir("after-fail");
  redirect_stdio io(dir);
  EXAI_LOG(warn, "gateway", "still logging");
  io.restore();
  BOOST_TEST(read_file(io.err_path).find("still logging") != std::string::npos);
}
