// Reading and comparing the providers' golden files.
#include "golden.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace exai::providers::test {

std::filesystem::path data_dir() { return std::filesystem::path(EXAI_TEST_DATA_DIR) / "providers"; }

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void check_golden(const std::filesystem::path& expected, const boost::json::value& got) {
  if (std::getenv("EXAI_GOLDEN_UPDATE")) {
    std::ofstream(expected) << boost::json::serialize(got) << "\n";
    return;
  }
  BOOST_TEST_REQUIRE(std::filesystem::exists(expected), "missing golden file " << expected);
  auto want = boost::json::parse(read_file(expected));
  BOOST_TEST((want == got), expected.filename().string() << "\n  want: " << boost::json::serialize(want)
                                                          << "\n  got:  " << boost::json::serialize(got));
}

}  // namespace exai::providers::test
