// Files for tests: a fresh temporary directory removed at the end, and whole-file reads.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace exai::test {

// A fresh directory under /tmp (unique per process and call), removed with everything in it.
struct temp_dir {
  std::filesystem::path path;

  explicit temp_dir(std::string_view stem = "dir");
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  operator const std::filesystem::path&() const { return path; }
  std::filesystem::path operator/(std::string_view name) const { return path / name; }
};

// The whole file as bytes ("" when it cannot be read).
std::string read_file(const std::filesystem::path& p);

// The text's lines, without their "\n".
std::vector<std::string> lines_of(const std::string& text);

}  // namespace exai::test
