// Golden files of the providers' unit tests (tests/data/providers). EXAI_GOLDEN_UPDATE=1 rewrites
// the expected files from the current code: review every diff before committing it.
#pragma once

#include <boost/json/value.hpp>

#include <filesystem>
#include <string>

namespace exai::providers::test {

std::filesystem::path data_dir();
std::string read_file(const std::filesystem::path& p);
// Compares got with the JSON in `expected` (or writes it when updating); reports a failure
// naming the file.
void check_golden(const std::filesystem::path& expected, const boost::json::value& got);

}  // namespace exai::providers::test
