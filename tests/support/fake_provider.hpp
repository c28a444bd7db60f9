// Starting the fake model provider (tests/fakes/provider, a TEST DOUBLE: no real model can run
// on the test machines) from a test, with a CA and a server certificate made at test time by
// `openssl req`, and reading back what it recorded (requests, closes).
#pragma once

#include "tests/support/process.hpp"

#include <boost/json/object.hpp>

#include <string>
#include <vector>

namespace exai::test {

// A throw-away CA and a certificate for 127.0.0.1 / localhost signed by it (made once per test
// process, under /tmp). `other_ca_file` is a second CA that did not sign anything: trusting it
// instead must make verification fail.
struct test_pki {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string other_ca_file;
  // Signed by ca_file, but for the name other.invalid only: refused when the URL names 127.0.0.1.
  std::string wrong_name_cert_file;
  std::string wrong_name_key_file;
};
const test_pki& make_test_pki();

struct fake_provider_options {
  bool tls = true;
  std::string scenario;          // JSON text of a scenario file; empty: the default behaviour
  std::vector<std::string> args;  // more flags: --chunks N, --chunk-interval-ms MS, --require-key K
  bool wrong_name = false;       // serve the certificate for other.invalid (see test_pki)
};

class fake_provider {
 public:
  static fake_provider start(fake_provider_options opts = {});

  const std::string& url() const { return url_; }            // "https://127.0.0.1:PORT"
  const std::string& ca_file() const { return ca_file_; }     // trust this (EXAI_PROVIDER_CA_FILE)
  const std::string& record_file() const { return record_; }
  child_process& process() { return proc_; }

  // Every recorded line so far, and those of one kind ("request", "client_closed", ...).
  std::vector<boost::json::object> records() const;
  std::vector<boost::json::object> records(std::string_view event) const;
  std::vector<boost::json::object> requests() const { return records("request"); }

 private:
  fake_provider(child_process p) : proc_(std::move(p)) {}
  child_process proc_;
  std::string url_, ca_file_, record_;
};

}  // namespace exai::test
