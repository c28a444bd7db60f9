// gateway::make_stdio_transport's writes (gateway/stdio_transport.hpp): a batch written with
// async_write_messages arrives whole and in order, one message per line, on a pipe (asynchronous
// output, one gather write) and on a regular file (blocking output, one write per message).
#define BOOST_TEST_MODULE gateway_stdio_transport_component
#include <boost/test/unit_test.hpp>

#include "gateway/stdio_transport.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

namespace asio = boost::asio;
using exai::gateway::make_stdio_transport;
using exai::gateway::stdio_options;

// 200 messages of varied length: more pieces than one writev takes (Asio gathers at most 64).
std::vector<std::string> batch() {
  std::vector<std::string> out;
  for (int i = 0; i < 200; ++i) {
    out.push_back("{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(i) + ",\"result\":\"" +
                  std::string(static_cast<std::size_t>(i % 17), 'x') + "\"}");
  }
  return out;
}

std::string expected(const std::vector<std::string>& msgs) {
  std::string s;
  for (const auto& m : msgs) s += m + "\n";
  return s;
}

std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

// Writes `msgs` as one batch through a transport on (in_fd, out_fd); returns the error.
boost::system::error_code write_batch(int in_fd, int out_fd, const std::vector<std::string>& msgs) {
  asio::io_context ioc;
  auto t = make_stdio_transport(ioc.get_executor(), stdio_options{in_fd, out_fd, 1024});
  auto f = asio::co_spawn(ioc, t->async_write_messages(msgs), asio::use_future);
  ioc.run();
  return f.get();
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_batch_on_a_pipe_arrives_whole_and_in_order) {
  int in[2];
  int out[2];
  BOOST_TEST_REQUIRE(::pipe(in) == 0);
  BOOST_TEST_REQUIRE(::pipe(out) == 0);
  ::fcntl(out[1], F_SETPIPE_SZ, 1 << 20);  // the whole batch fits: no reader runs meanwhile
  const auto msgs = batch();
  BOOST_TEST(!write_batch(in[0], out[1], msgs));
  ::close(out[1]);
  BOOST_TEST(read_all(out[0]) == expected(msgs));
  ::close(out[0]);
  ::close(in[0]);
  ::close(in[1]);
}

BOOST_AUTO_TEST_CASE(a_batch_to_a_regular_file_arrives_whole_and_in_order) {
  int in[2];
  BOOST_TEST_REQUIRE(::pipe(in) == 0);
  char path[] = "/tmp/exai-stdio-test-XXXXXX";
  const int fd = ::mkstemp(path);
  BOOST_TEST_REQUIRE(fd >= 0);
  const auto msgs = batch();
  BOOST_TEST(!write_batch(in[0], fd, msgs));
  ::lseek(fd, 0, SEEK_SET);
  BOOST_TEST(read_all(fd) == expected(msgs));
  ::close(fd);
  ::unlink(path);
  ::close(in[0]);
  ::close(in[1]);
}

BOOST_AUTO_TEST_CASE(a_batch_to_a_closed_pipe_fails) {
  int in[2];
  int out[2];
  BOOST_TEST_REQUIRE(::pipe(in) == 0);
  BOOST_TEST_REQUIRE(::pipe(out) == 0);
  ::close(out[0]);  // nobody reads: EPIPE (SIGPIPE ignored below)
  std::signal(SIGPIPE, SIG_IGN);
  BOOST_TEST(static_cast<bool>(write_batch(in[0], out[1], batch())));
  ::close(out[1]);
  ::close(in[0]);
  ::close(in[1]);
}
