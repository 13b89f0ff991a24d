#include "seqrec/common/io.h"

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

}  // namespace seqrec
