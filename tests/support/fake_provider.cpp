// Test-time PKI (openssl req) and the fake provider child process.
#include "tests/support/fake_provider.hpp"

#include <boost/json/parse.hpp>

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <stdexcept>

#ifndef EXAI_FAKE_PROVIDER_BIN
#error "EXAI_FAKE_PROVIDER_BIN must name the exai-fake-provider program"
#endif

namespace exai::test {

namespace {

void run(const std::string& cmd) {
  if (std::system((cmd + " >/dev/null 2>&1").c_str()) != 0) {
    throw std::runtime_error("test PKI: command failed: " + cmd);
  }
}

}  // namespace

const test_pki& make_test_pki() {
  static std::once_flag once;
  static test_pki pki;
  std::call_once(once, [] {
    const std::string dir = temp_path("exai-pki");
    run("mkdir -p " + dir);
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2";
    run("openssl req -x509" + ec + " -keyout " + dir + "/ca.key -out " + dir +
        "/ca.pem -subj /CN=exai-test-ca");
    run("openssl req -x509" + ec + " -keyout " + dir + "/other.key -out " + dir +
        "/other.pem -subj /CN=exai-untrusted-ca");
    run("openssl req -x509" + ec + " -keyout " + dir + "/server.key -out " + dir +
        "/server.pem -subj /CN=localhost -CA " + dir + "/ca.pem -CAkey " + dir +
        "/ca.key -addext subjectAltName=DNS:localhost,IP:127.0.0.1"
        " -addext basicConstraints=critical,CA:FALSE");
    run("openssl req -x509" + ec + " -keyout " + dir + "/wrong.key -out " + dir +
        "/wrong.pem -subj /CN=other.invalid -CA " + dir + "/ca.pem -CAkey " + dir +
        "/ca.key -addext subjectAltName=DNS:other.invalid -addext basicConstraints=critical,CA:FALSE");
    pki = {dir + "/ca.pem",    dir + "/server.pem", dir + "/server.key",
           dir + "/other.pem", dir + "/wrong.pem",  dir + "/wrong.key"};
  });
  return pki;
}

fake_provider fake_provider::start(fake_provider_options opts) {
  std::vector<std::string> argv = {EXAI_FAKE_PROVIDER_BIN, "--listen", "127.0.0.1:0"};
  std::string ca;
  if (opts.tls) {
    const auto& pki = make_test_pki();
    argv.insert(argv.end(), {"--tls-cert", opts.wrong_name ? pki.wrong_name_cert_file : pki.cert_file,
                             "--tls-key", opts.wrong_name ? pki.wrong_name_key_file : pki.key_file});
    ca = pki.ca_file;
  }
  if (!opts.scenario.empty()) {
    std::string path = temp_path("fake-provider-scenario") + ".json";
    std::ofstream(path) << opts.scenario;
    argv.insert(argv.end(), {"--scenario", path});
  }
  std::string record = temp_path("fake-provider-record") + ".jsonl";
  argv.insert(argv.end(), {"--record", record});
  argv.insert(argv.end(), opts.args.begin(), opts.args.end());
  std::string ready = temp_path("fake-provider-ready");
  argv.insert(argv.end(), {"--ready-file", ready});
  fake_provider f(child_process::start(argv));
  auto info = f.proc_.wait_ready(ready);
  std::remove(ready.c_str());
  f.url_ = std::string(info.at("url").as_string());
  f.ca_file_ = ca;
  f.record_ = record;
  return f;
}

std::vector<boost::json::object> fake_provider::records() const {
  std::vector<boost::json::object> out;
  std::ifstream in(record_);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    out.push_back(boost::json::parse(line).as_object());
  }
  return out;
}

std::vector<boost::json::object> fake_provider::records(std::string_view event) const {
  std::vector<boost::json::object> out;
  for (auto& r : records()) {
    if (const auto* e = r.if_contains("event"); e && e->is_string() && e->as_string() == event) {
      out.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace exai::test
