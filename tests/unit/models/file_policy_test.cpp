// The file policy: each rule refuses with the path and the rule named; symlinks are resolved
// before the root check; budgets; folder expansion; images by content and as data URLs.
#include "daemon/models/file_policy.hpp"
#include "tests/support/files.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>

using namespace exai::daemon::models;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& p, std::string_view bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

std::string refusal(const exai::codecs::result<std::vector<file_policy::text_file>>& r) {
  return r.has_error() ? r.error().message : std::string("(accepted)");
}

bool has(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_CASE(reads_text_files_inside_the_root) {
  exai::test::temp_dir root("root");
  write(root / "a.txt", "alpha\n");
  write(root / "sub/b.md", "beta");
  file_policy fp({root.path});
  auto r = fp.read_files({(root / "a.txt").string(), (root / "sub/b.md").string()});
  BOOST_REQUIRE(r.has_value());
  BOOST_REQUIRE(r->size() == 2u);
  BOOST_TEST(r->at(0).content == "alpha\n");
  BOOST_TEST(r->at(1).path == fs::canonical(root / "sub/b.md").string());
  BOOST_TEST(frame_file(r->at(1)) == "\n--- BEGIN FILE: " + r->at(1).path + " ---\nbeta\n--- END FILE: " +
                                         r->at(1).path + " ---\n");
}

BOOST_AUTO_TEST_CASE(relative_paths_are_refused) {
  exai::test::temp_dir root("root");
  file_policy fp({root.path});
  auto msg = refusal(fp.read_files({"src/main.cpp"}));
  BOOST_TEST(has(msg, "src/main.cpp: not an absolute path"), msg);
}

BOOST_AUTO_TEST_CASE(paths_outside_the_roots_are_refused) {
  exai::test::temp_dir root("root"), other("other");
  write(other / "secret.txt", "s");
  file_policy fp({root.path});
  auto msg = refusal(fp.read_files({(other / "secret.txt").string()}));
  BOOST_TEST(has(msg, (other / "secret.txt").string() + ": "), msg);
  BOOST_TEST(has(msg, "outside the allowed roots"), msg);
  BOOST_TEST(has(msg, "EXAI_ALLOWED_ROOTS"), msg);
}

BOOST_AUTO_TEST_CASE(dot_dot_cannot_escape_a_root) {
  exai::test::temp_dir root("root"), other("other");
  write(other / "secret.txt", "s");
  file_policy fp({root.path});
  const auto sneaky = (root / ".." / other.path.filename() / "secret.txt").string();
  auto msg = refusal(fp.read_files({sneaky}));
  BOOST_TEST(has(msg, "outside the allowed roots"), msg);
}

BOOST_AUTO_TEST_CASE(symlinks_are_resolved_before_the_root_check) {
  exai::test::temp_dir root("root"), other("other");
  write(other / "secret.txt", "s");
  fs::create_symlink(other / "secret.txt", root / "link.txt");
  fs::create_directory_symlink(other.path, root / "dirlink");
  file_policy fp({root.path});
  auto msg = refusal(fp.read_files({(root / "link.txt").string()}));
  BOOST_TEST(has(msg, (root / "link.txt").string() + ": resolves to "), msg);
  BOOST_TEST(has(msg, "outside the allowed roots"), msg);
  // A link inside a named folder is checked on its own too.
  write(root / "folder/ok.txt", "ok");
  fs::create_symlink(other / "secret.txt", root / "folder/zz-link.txt");
  msg = refusal(fp.read_files({(root / "folder").string()}));
  BOOST_TEST(has(msg, "zz-link.txt: resolves to"), msg);
  // And a link to a file inside the root is fine.
  fs::create_symlink(root / "folder/ok.txt", root / "inner-link.txt");
  auto ok = fp.read_files({(root / "inner-link.txt").string()});
  BOOST_REQUIRE(ok.has_value());
  BOOST_TEST(ok->at(0).path == fs::canonical(root / "folder/ok.txt").string());
}

BOOST_AUTO_TEST_CASE(missing_files_are_named) {
  exai::test::temp_dir root("root");
  file_policy fp({root.path});
  auto msg = refusal(fp.read_files({(root / "nope.txt").string()}));
  BOOST_TEST(has(msg, "nope.txt: does not exist"), msg);
}

BOOST_AUTO_TEST_CASE(binary_files_are_refused) {
  exai::test::temp_dir root("root");
  write(root / "nul.bin", std::string("ab\0cd", 5));
  write(root / "latin1.txt", "caf\xe9");
  file_policy fp({root.path});
  BOOST_TEST(has(refusal(fp.read_files({(root / "nul.bin").string()})), "nul.bin: binary file"));
  BOOST_TEST(has(refusal(fp.read_files({(root / "latin1.txt").string()})), "latin1.txt: binary file"));
  BOOST_TEST(looks_like_text("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"));
  BOOST_TEST(!looks_like_text("\xc0\xaf"));          // overlong
  BOOST_TEST(!looks_like_text("\xed\xa0\x80"));      // surrogate
  BOOST_TEST(!looks_like_text("\xe2\x82"));          // truncated
}

BOOST_AUTO_TEST_CASE(per_file_and_total_budgets) {
  exai::test::temp_dir root("root");
  write(root / "big.txt", std::string(2000, 'b'));
  write(root / "a.txt", std::string(700, 'a'));
  write(root / "c.txt", std::string(700, 'c'));
  file_limits lim;
  lim.max_file_bytes = 1000;
  lim.max_total_bytes = 1200;
  file_policy fp({root.path}, lim);
  auto msg = refusal(fp.read_files({(root / "big.txt").string()}));
  BOOST_TEST(has(msg, "big.txt: file of 2000 bytes is over the per-file limit of 1000 bytes"), msg);
  msg = refusal(fp.read_files({(root / "a.txt").string(), (root / "c.txt").string()}));
  BOOST_TEST(has(msg, "c.txt: the files of this call exceed the total budget of 1200 bytes"), msg);
  // A call's own budget (the model's context) can only lower the total.
  msg = refusal(fp.read_files({(root / "a.txt").string()}, 500));
  BOOST_TEST(has(msg, "total budget of 500 bytes"), msg);
  BOOST_TEST(fp.read_files({(root / "a.txt").string()}, 1'000'000).has_value());
}

BOOST_AUTO_TEST_CASE(folders_expand_in_order_skipping_build_and_vcs) {
  exai::test::temp_dir root("root");
  write(root / "proj/b.cpp", "b");
  write(root / "proj/a.cpp", "a");
  write(root / "proj/.git/config", "x");
  write(root / "proj/node_modules/m.js", "x");
  write(root / "proj/build/out.txt", "x");
  file_policy fp({root.path});
  auto r = fp.read_files({(root / "proj").string(), (root / "proj/a.cpp").string()});
  BOOST_REQUIRE(r.has_value());
  BOOST_REQUIRE(r->size() == 2u);  // a.cpp named twice is read once
  BOOST_TEST(r->at(0).content == "a");
  BOOST_TEST(r->at(1).content == "b");
}

BOOST_AUTO_TEST_CASE(no_roots_refuses_with_the_variable_to_set) {
  file_policy fp({});
  auto msg = refusal(fp.read_files({"/etc/hostname"}));
  BOOST_TEST(has(msg, "/etc/hostname: no allowed roots are configured; set EXAI_ALLOWED_ROOTS"), msg);
}

BOOST_AUTO_TEST_CASE(roots_from_the_environment) {
  exai::test::temp_dir a("a"), b("b");
  auto fp = file_policy::from_environment((a.path.string() + ":" + b.path.string()).c_str());
  BOOST_REQUIRE(fp.roots().size() == 2u);
  BOOST_TEST(fp.roots()[1] == fs::canonical(b.path));
  auto cwd = file_policy::from_environment(nullptr);
  BOOST_REQUIRE(cwd.roots().size() == 1u);
  BOOST_TEST(cwd.roots()[0] == fs::canonical(fs::current_path()));
}

BOOST_AUTO_TEST_CASE(images_by_content_and_as_data_urls) {
  exai::test::temp_dir root("root");
  write(root / "pic.png", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16));
  write(root / "fake.png", "not an image");
  file_policy fp({root.path});
  auto r = fp.read_images({(root / "pic.png").string(), "data:image/jpeg;base64,/9j/4AAQ"});
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r->at(0).mime == "image/png");
  BOOST_TEST(r->at(0).base64 == "iVBORw0KGgoAAAANSUhEUg==");
  BOOST_TEST(r->at(1).mime == "image/jpeg");
  BOOST_TEST(r->at(1).base64 == "/9j/4AAQ");
  auto bad = fp.read_images({(root / "fake.png").string()});
  BOOST_REQUIRE(bad.has_error());
  BOOST_TEST(has(bad.error().message, "fake.png: not a PNG, JPEG, GIF or WebP image"));
  bad = fp.read_images({"data:text/html;base64,PGI+"});
  BOOST_REQUIRE(bad.has_error());
  BOOST_TEST(has(bad.error().message, "data URL #1: unsupported image type 'text/html'"));
  bad = fp.read_images({"data:image/png;base64,@@@@"});
  BOOST_REQUIRE(bad.has_error());
  BOOST_TEST(has(bad.error().message, "not valid base64"));
  bad = fp.read_images(std::vector<std::string>(6, "data:image/png;base64,AAAA"));
  BOOST_REQUIRE(bad.has_error());
  BOOST_TEST(has(bad.error().message, "at most 5 images"));
}
