#pragma once
#include <filesystem>
#include <functional>
#include <string>

namespace seqrec {

namespace fs = std::filesystem;

/// Reads a whole file; throws InvalidInput naming the path when it cannot be opened.
std::string read_text_file(const fs::path& path);

/// Writes `content` to `path` through `<path>.tmp` and a rename, so readers never see half a file.
void write_text_file_atomic(const fs::path& path, const std::string& content);

/// Builds a directory artifact atomically: `fill` writes into `<dir>.tmp`, which then replaces `dir`.
/// If `fill` throws, the previous `dir` (if any) is left untouched and the temporary is removed.
void write_directory_atomic(const fs::path& dir, const std::function<void(const fs::path& tmp)>& fill);

/// Throws InvalidInput "<what> '<path>' does not exist" when path is missing.
void require_exists(const fs::path& path, const std::string& what);

}  // namespace seqrec
