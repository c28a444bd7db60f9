// Files and images a model tool may read (exai-tools-reference §4): absolute paths only, inside
// the allowed roots after symlinks are resolved, per-file and total byte budgets, no binary files,
// images as data URLs. Every refusal names the path and the rule, so the calling model can fix
// its call. Synchronous file I/O: the budgets keep each read small.
#pragma once

#include "codecs/error.hpp"

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace exai::daemon::models {

struct file_limits {
  std::size_t max_file_bytes = 512u * 1024;        // one text file
  std::size_t max_total_bytes = 1024u * 1024;      // all files of one call together
  std::size_t max_files = 500;                     // after expanding folders
  std::size_t max_images = 5;                      // §4: at most 5 images
  std::size_t max_image_bytes = 8u * 1024 * 1024;  // one image, before base64
};

class file_policy {
 public:
  // `roots` are canonicalised here; roots that do not exist are dropped.
  file_policy(std::vector<std::filesystem::path> roots, file_limits limits = {});

  // The default: EXAI_ALLOWED_ROOTS (paths separated by ':' or ','), else the working directory
  // (unless that is "/", which would allow every file: then no roots until configured).
  static file_policy from_environment(const char* allowed_roots_env, file_limits limits = {});

  const std::vector<std::filesystem::path>& roots() const noexcept { return roots_; }
  const file_limits& limits() const noexcept { return limits_; }

  struct text_file {
    std::string path;     // as canonicalised (symlinks resolved)
    std::string content;  // UTF-8 text
  };

  // Reads the files (folders expanded recursively, skipping VCS and build folders) in order.
  // `budget` lowers max_total_bytes for this call (e.g. to what the model's context allows).
  // The first refusal is the error (errc::invalid_params): "<path>: <rule>".
  codecs::result<std::vector<text_file>> read_files(const std::vector<std::string>& paths,
                                                    std::optional<std::size_t> budget = {}) const;

  struct image {
    std::string source;    // the path, or "data URL #n"
    std::string mime;      // image/png, image/jpeg, image/gif, image/webp
    std::string base64;    // the bytes, base64-encoded (what a data: URL carries)
  };

  // Paths (same rules as files; PNG, JPEG, GIF or WebP by content) or data: URLs.
  codecs::result<std::vector<image>> read_images(const std::vector<std::string>& items) const;

  // Checks one path: absolute, exists, inside a root after resolving symlinks. The canonical path.
  codecs::result<std::filesystem::path> check(std::string_view path) const;

 private:
  std::vector<std::filesystem::path> roots_;
  file_limits limits_;
};

// The block a file is embedded in the prompt as (the reference's framing).
std::string frame_file(const file_policy::text_file& f);

// True when the bytes look like text: no NUL byte and valid UTF-8.
bool looks_like_text(std::string_view bytes) noexcept;

}  // namespace exai::daemon::models
