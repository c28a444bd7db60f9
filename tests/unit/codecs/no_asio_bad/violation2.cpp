// Fixture for the codecs_no_asio_detects test: a quoted, indented, standalone-style include.
#include <string>
  #include "beast/core.hpp"
