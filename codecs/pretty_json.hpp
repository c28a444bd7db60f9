// Indented JSON text for people (--print-config of both programs), in the layout of the files in
// conf/: two spaces per level, one key per line, arrays of scalars on one line.
#pragma once

#include <boost/json/value.hpp>

#include <string>

namespace exai::codecs {

// `v` as indented JSON, ending without a newline. Scalars are written as boost::json::serialize
// writes them, so the text parses back to `v`.
std::string pretty_json(const boost::json::value& v);

}  // namespace exai::codecs
