// Fixture for the codecs_no_asio_detects test: the checker must reject this file.
#pragma once
#include <boost/asio/io_context.hpp>
