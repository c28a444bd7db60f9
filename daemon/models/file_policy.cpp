// The file and image policy of the model tools: path checks (absolute, resolved, inside a root),
// folder expansion, byte budgets, the text test, image sniffing and base64. No Asio.
#include "daemon/models/file_policy.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <system_error>

namespace exai::daemon::models {

namespace fs = std::filesystem;
using codecs::errc;
using codecs::error;

namespace {

error refuse(std::string_view path, std::string_view rule) {
  return error(errc::invalid_params, std::string(path) + ": " + std::string(rule));
}

// Folders a folder expansion skips (version control, dependencies, build output, caches).
bool excluded_dir(const std::string& name) {
  static constexpr std::array<std::string_view, 14> names = {
      ".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", "site-packages",
      "build", "dist", "target", ".cache", ".idea", ".tox"};
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool inside(const fs::path& p, const fs::path& root) {
  auto pi = p.begin();
  for (auto ri = root.begin(); ri != root.end(); ++ri, ++pi) {
    if (ri->empty()) continue;  // a trailing separator
    if (pi == p.end() || *pi != *ri) return false;
  }
  return true;
}

// Reads at most limit+1 bytes, so an oversized file is detected without reading it whole.
bool read_prefix(const fs::path& p, std::size_t limit, std::string& out) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return false;
  out.resize(limit + 1);
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<std::size_t>(in.gcount()));
  return !in.bad();
}

std::string base64(std::string_view in) {
  static constexpr char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const auto n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                   static_cast<unsigned char>(in[i + 2]);
    out += tbl[(n >> 18) & 63];
    out += tbl[(n >> 12) & 63];
    out += tbl[(n >> 6) & 63];
    out += tbl[n & 63];
  }
  if (i < in.size()) {
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += tbl[(n >> 18) & 63];
    out += tbl[(n >> 12) & 63];
    out += i + 1 < in.size() ? tbl[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// The image type from its first bytes (never from the file name).
std::string_view sniff_image(std::string_view b) {
  if (b.size() >= 8 && b.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) return "image/png";
  if (b.size() >= 3 && b.substr(0, 3) == "\xFF\xD8\xFF") return "image/jpeg";
  if (b.size() >= 6 && (b.substr(0, 6) == "GIF87a" || b.substr(0, 6) == "GIF89a")) return "image/gif";
  if (b.size() >= 12 && b.substr(0, 4) == "RIFF" && b.substr(8, 4) == "WEBP") return "image/webp";
  return {};
}

bool valid_base64(std::string_view s) {
  if (s.empty() || s.size() % 4 != 0) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/' || (c == '=' && i + 2 >= s.size());
    if (!ok) return false;
  }
  return true;
}

}  // namespace

bool looks_like_text(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07;
    else return false;
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return false;
    i += len;
  }
  return true;
}

std::string frame_file(const file_policy::text_file& f) {
  std::string out;
  out.reserve(f.content.size() + 2 * f.path.size() + 48);
  out += "\n--- BEGIN FILE: ";
  out += f.path;
  out += " ---\n";
  out += f.content;
  if (!f.content.empty() && f.content.back() != '\n') out += '\n';
  out += "--- END FILE: ";
  out += f.path;
  out += " ---\n";
  return out;
}

file_policy::file_policy(std::vector<fs::path> roots, file_limits limits) : limits_(limits) {
  for (auto& r : roots) {
    std::error_code ec;
    auto c = fs::canonical(r, ec);
    if (!ec && fs::is_directory(c, ec)) roots_.push_back(std::move(c));
  }
}

file_policy file_policy::from_environment(const char* env, file_limits limits) {
  std::vector<fs::path> roots;
  if (env && *env) {
    std::string_view s(env);
    while (!s.empty()) {
      const auto cut = s.find_first_of(":,");
      auto item = s.substr(0, cut);
      s = cut == std::string_view::npos ? std::string_view() : s.substr(cut + 1);
      if (!item.empty()) roots.emplace_back(std::string(item));
    }
  } else {
    std::error_code ec;
    auto cwd = fs::current_path(ec);
    // A service started in "/" would otherwise expose every file on the machine.
    if (!ec && cwd != cwd.root_path()) roots.push_back(cwd);
  }
  return file_policy(std::move(roots), limits);
}

codecs::result<fs::path> file_policy::check(std::string_view path) const {
  if (path.empty()) return refuse("(empty path)", "a file path must not be empty");
  fs::path p{std::string(path)};
  if (!p.is_absolute())
    return refuse(path, "not an absolute path; give the full path (starting with /)");
  std::error_code ec;
  auto c = fs::canonical(p, ec);
  if (ec) return refuse(path, "does not exist or cannot be resolved");
  if (roots_.empty())
    return refuse(path, "no allowed roots are configured; set EXAI_ALLOWED_ROOTS to the folders tools may read");
  for (const auto& r : roots_)
    if (inside(c, r)) return c;
  std::string list;
  for (const auto& r : roots_) list += (list.empty() ? "" : ", ") + r.string();
  return refuse(path, (c.string() != path ? "resolves to " + c.string() + ", " : std::string()) +
                          "outside the allowed roots (" + list + "; EXAI_ALLOWED_ROOTS)");
}

codecs::result<std::vector<file_policy::text_file>> file_policy::read_files(
    const std::vector<std::string>& paths, std::optional<std::size_t> budget) const {
  const std::size_t total_cap = std::min(limits_.max_total_bytes, budget.value_or(limits_.max_total_bytes));
  std::vector<text_file> out;
  std::size_t total = 0;

  auto add_file = [&](const fs::path& canonical, std::string_view shown) -> codecs::result<void> {
    for (const auto& f : out)
      if (f.path == canonical.string()) return {};  // named twice (or inside a named folder)
    if (out.size() >= limits_.max_files)
      return refuse(shown, "more than " + std::to_string(limits_.max_files) + " files in one call");
    std::error_code ec;
    const auto size = fs::file_size(canonical, ec);
    if (ec) return refuse(shown, "cannot read its size");
    if (size > limits_.max_file_bytes)
      return refuse(shown, "file of " + std::to_string(size) + " bytes is over the per-file limit of " +
                               std::to_string(limits_.max_file_bytes) + " bytes");
    text_file f;
    f.path = canonical.string();
    if (!read_prefix(canonical, limits_.max_file_bytes, f.content)) return refuse(shown, "cannot be read");
    if (f.content.size() > limits_.max_file_bytes)
      return refuse(shown, "over the per-file limit of " + std::to_string(limits_.max_file_bytes) + " bytes");
    if (!looks_like_text(f.content)) return refuse(shown, "binary file (not UTF-8 text); only text files can be embedded");
    if (total + f.content.size() > total_cap)
      return refuse(shown, "the files of this call exceed the total budget of " + std::to_string(total_cap) +
                               " bytes; name fewer or smaller files");
    total += f.content.size();
    out.push_back(std::move(f));
    return {};
  };

  for (const auto& p : paths) {
    auto c = check(p);
    if (!c) return c.error();
    std::error_code ec;
    if (fs::is_directory(*c, ec)) {
      std::vector<fs::path> found;
      fs::recursive_directory_iterator it(*c, fs::directory_options::skip_permission_denied, ec), end;
      if (ec) return refuse(p, "folder cannot be listed");
      for (; it != end; it.increment(ec)) {
        if (ec) return refuse(p, "folder cannot be listed");
        const auto& entry = *it;
        if (entry.is_directory(ec)) {
          if (excluded_dir(entry.path().filename().string())) it.disable_recursion_pending();
          continue;
        }
        if (!entry.is_regular_file(ec)) continue;
        found.push_back(entry.path());
        if (found.size() > limits_.max_files)
          return refuse(p, "folder holds more than " + std::to_string(limits_.max_files) + " files");
      }
      std::sort(found.begin(), found.end());  // a stable order for the prompt
      for (const auto& f : found) {
        // A symlink inside an allowed folder may point anywhere: check each file on its own.
        auto fc = check(f.string());
        if (!fc) return fc.error();
        if (auto r = add_file(*fc, f.string()); !r) return r.error();
      }
    } else if (fs::is_regular_file(*c, ec)) {
      if (auto r = add_file(*c, p); !r) return r.error();
    } else {
      return refuse(p, "neither a regular file nor a folder");
    }
  }
  return out;
}

codecs::result<std::vector<file_policy::image>> file_policy::read_images(
    const std::vector<std::string>& items) const {
  if (items.size() > limits_.max_images)
    return refuse("images", "at most " + std::to_string(limits_.max_images) + " images per call, got " +
                                std::to_string(items.size()));
  std::vector<image> out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& item = items[i];
    image img;
    if (item.starts_with("data:")) {
      img.source = "data URL #" + std::to_string(i + 1);
      const auto comma = item.find(',');
      const auto header = std::string_view(item).substr(5, comma == std::string::npos ? 0 : comma - 5);
      if (comma == std::string::npos || !header.ends_with(";base64"))
        return refuse(img.source, "a data URL must be data:<image type>;base64,<data>");
      img.mime = std::string(header.substr(0, header.size() - 7));
      if (img.mime != "image/png" && img.mime != "image/jpeg" && img.mime != "image/gif" && img.mime != "image/webp")
        return refuse(img.source, "unsupported image type '" + img.mime + "' (PNG, JPEG, GIF or WebP)");
      const auto data = std::string_view(item).substr(comma + 1);
      if (!valid_base64(data)) return refuse(img.source, "the data is not valid base64");
      if (data.size() / 4 * 3 > limits_.max_image_bytes)
        return refuse(img.source, "image over the limit of " + std::to_string(limits_.max_image_bytes) + " bytes");
      img.base64 = std::string(data);
    } else {
      auto c = check(item);
      if (!c) return c.error();
      std::error_code ec;
      if (!fs::is_regular_file(*c, ec)) return refuse(item, "not a regular file");
      const auto size = fs::file_size(*c, ec);
      if (ec || size > limits_.max_image_bytes)
        return refuse(item, "image over the limit of " + std::to_string(limits_.max_image_bytes) + " bytes");
      std::string bytes;
      if (!read_prefix(*c, limits_.max_image_bytes, bytes) || bytes.size() > limits_.max_image_bytes)
        return refuse(item, "cannot be read");
      img.source = c->string();
      img.mime = std::string(sniff_image(bytes));
      if (img.mime.empty()) return refuse(item, "not a PNG, JPEG, GIF or WebP image");
      img.base64 = base64(bytes);
    }
    out.push_back(std::move(img));
  }
  return out;
}

}  // namespace exai::daemon::models
