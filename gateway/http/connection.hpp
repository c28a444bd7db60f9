// Hand-over of a plain HTTP request from the shared listener (gateway/ws_listener.cpp) to the
// HTTP server: the connection, the bytes read past the head, and the parser holding the head.
// Beast types: include only from the two translation units that instantiate Beast HTTP.
#pragma once

#include "gateway/http/server.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <memory>

namespace exai::gateway::http {

using request_parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// Serves the connection until it closes: this request (its head already read, the body not),
// then the next ones on keep-alive. Run on the server's executor.
void serve(const std::shared_ptr<server::impl>& s, boost::beast::tcp_stream stream,
           boost::beast::flat_buffer buffer, std::unique_ptr<request_parser> head);

}  // namespace exai::gateway::http
