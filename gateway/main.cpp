// exai-gateway: parse the command line, then run the gateway (gateway/app.hpp). Nothing but
// --help / --version / --print-config output ever goes to stdout from here.
#include "codecs/pretty_json.hpp"
#include "gateway/allocator.hpp"
#include "gateway/app.hpp"
#include "gateway/config.hpp"

#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  using namespace exai::gateway;
  configure_allocator();
  std::vector<std::string> args(argv + 1, argv + argc);
  auto loaded = load_config(args, process_env());
  if (!loaded) {
    std::fprintf(stderr, "exai-gateway: %s\n", loaded.error().message.c_str());
    return exit_usage;
  }
  switch (loaded->cmd) {
    case command::help:
      std::fputs(usage().c_str(), stdout);
      return exit_ok;
    case command::version:
      std::printf("exai-gateway %s\n", gateway_version());
      return exit_ok;
    case command::print_config:
      std::printf("%s\n", exai::codecs::pretty_json(to_json(loaded->config)).c_str());
      return exit_ok;
    case command::run:
      break;
  }
  return run_gateway(loaded->config);
}
