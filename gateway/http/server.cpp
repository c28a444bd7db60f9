// The MCP HTTP server (gateway/http/server.hpp): the one translation unit that instantiates the
// HTTP exchanges (gateway/http/server_impl.hpp) and Beast's HTTP operations for them.
#include "gateway/http/server_impl.hpp"

namespace exai::gateway::http {

void serve(const std::shared_ptr<server::impl>& s, beast::tcp_stream stream,
           beast::flat_buffer buffer, std::unique_ptr<request_parser> head) {
  asio::co_spawn(s->ex,
                 server::impl::run_connection<beast::tcp_stream>(s, std::move(stream), std::move(buffer),
                                              std::move(head)),
                 asio::detached);
}

server::server(asio::any_io_executor ex, server_options opts, session_sealer sealer,
               session_hooks hooks)
    : impl_(std::make_shared<impl>(ex, std::move(opts), std::move(sealer), std::move(hooks))) {
  // The series exist from startup, so dashboards see zeros rather than gaps.
  requests_by_status(200);
  sse_streams();
  sessions_by_era(false);
  sessions_by_era(true);
}

server::~server() { stop(); }

void server::stop() {
  impl_->stopping = true;
  impl_->sweeper.cancel();
}

std::size_t server::sessions() const { return impl_->table.size(); }
std::size_t server::open_streams() const { return impl_->streams; }
std::size_t server::connections() const { return impl_->connections; }

}  // namespace exai::gateway::http
