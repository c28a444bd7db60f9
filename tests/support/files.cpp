// Temporary directories, whole-file reads and line splitting for tests (tests/support/files.hpp).
#include "tests/support/files.hpp"

#include "tests/support/process.hpp"

#include <fstream>
#include <sstream>
#include <system_error>

namespace exai::test {

temp_dir::temp_dir(std::string_view stem) : path(temp_path(stem)) {
  std::filesystem::remove_all(path);
  std::filesystem::create_directories(path);
}

temp_dir::~temp_dir() {
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

}  // namespace exai::test
