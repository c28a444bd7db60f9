// Per-message dialect detection (house-style 2): a pure classifier with an explicit "neither".
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>

namespace exai::codecs {

enum class classification : std::uint8_t {
  jsonrpc,        // an object with "jsonrpc":"2.0"
  jsonrpc_batch,  // an array (JSON-RPC batch; its elements are checked when decoded)
  op,             // an object with a string "op" and no "jsonrpc"
  neither,        // an object that is neither, or has both "jsonrpc" and "op"; or not an object/array
};

classification classify(const boost::json::value& v) noexcept;

}  // namespace exai::codecs
