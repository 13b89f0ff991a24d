#pragma once
#include <filesystem>
#include <functional>
#include <map>
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

/// FNV-1a 64 of a file's bytes, as 16 lowercase hex digits: the checksum bundles, fitted workflows and sessions
/// folders record for each of their files and verify when they are opened.
std::string file_fnv1a64(const fs::path& path);

/// file_fnv1a64 of every file under `dir` (by path relative to it) except `manifest`, the file that records them.
std::map<std::string, std::string> folder_checksums(const fs::path& dir, const std::string& manifest);

/// Checks every file `expected` lists against its checksum; throws InvalidInput "<what> '<dir>' is damaged: <file> ..."
/// naming the file, with `remedy` (what the user can do) at the end.
void verify_folder_checksums(const fs::path& dir, const std::map<std::string, std::string>& expected, const std::string& what,
                             const std::string& remedy);

/// Throws InvalidInput "<what> '<path>' does not exist" when path is missing.
void require_exists(const fs::path& path, const std::string& what);

}  // namespace seqrec
