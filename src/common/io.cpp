#include "seqrec/common/io.h"

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "seqrec/common/error.h"

namespace seqrec {

std::string read_text_file(const fs::path& path) {
  require_exists(path, "file");
  std::ifstream in(path, std::ios::binary);
  SEQREC_CHECK(in, "cannot open '", path.string(), "' for reading");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void write_text_file_atomic(const fs::path& path, const std::string& content) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  fs::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    SEQREC_CHECK(out, "cannot open '", tmp.string(), "' for writing");
    out << content;
    SEQREC_CHECK(out.good(), "failed writing '", tmp.string(), "' (disk full?)");
  }
  fs::rename(tmp, path);
}

void write_directory_atomic(const fs::path& dir, const std::function<void(const fs::path&)>& fill) {
  fs::path tmp = dir;
  tmp += ".tmp";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  try {
    fill(tmp);
  } catch (...) {
    fs::remove_all(tmp);
    throw;
  }
  // rename() cannot replace a non-empty directory, so the old one goes first.
  fs::remove_all(dir);
  fs::rename(tmp, dir);
}

void require_exists(const fs::path& path, const std::string& what) {
  SEQREC_CHECK(fs::exists(path), what, " '", path.string(), "' does not exist");
}

std::string file_fnv1a64(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  SEQREC_CHECK(in, "cannot open '", path.string(), "' for reading");
  uint64_t h = 1469598103934665603ull;
  char buffer[1 << 16];
  while (in) {
    in.read(buffer, sizeof buffer);
    for (std::streamsize i = 0; i < in.gcount(); ++i) {
      h ^= static_cast<unsigned char>(buffer[i]);
      h *= 1099511628211ull;
    }
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

std::map<std::string, std::string> folder_checksums(const fs::path& dir, const std::string& manifest) {
  std::map<std::string, std::string> sums;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = fs::relative(entry.path(), dir).generic_string();
    if (name != manifest) sums[name] = file_fnv1a64(entry.path());
  }
  return sums;
}

void verify_folder_checksums(const fs::path& dir, const std::map<std::string, std::string>& expected, const std::string& what,
                             const std::string& remedy) {
  for (const auto& [name, sum] : expected) {
    const fs::path file = dir / name;
    SEQREC_CHECK(fs::exists(file), what, " '", dir.string(), "' is damaged: ", name, " is missing; ", remedy);
    const std::string actual = file_fnv1a64(file);
    SEQREC_CHECK(actual == sum, what, " '", dir.string(), "' is damaged: ", name, " has checksum ", actual,
                 ", recorded as ", sum, "; ", remedy);
  }
}

}  // namespace seqrec
