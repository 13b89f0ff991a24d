#include "seqrec/common/parquet_files.h"

#include <algorithm>

#include "seqrec/common/error.h"

namespace seqrec {

namespace fs = std::filesystem;

namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_data_file(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name[0] != '_' && name[0] != '.' && ends_with(name, ".parquet");
}

}  // namespace

bool is_parquet_input(const std::string& path) {
  if (ends_with(path, ".parquet")) return true;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return false;
  for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (it->is_regular_file() && is_data_file(it->path())) return true;
  return false;
}

std::vector<ParquetPart> list_parquet_parts(const fs::path& path) {
  std::vector<ParquetPart> parts;
  if (!fs::is_directory(path)) {
    SEQREC_CHECK(fs::exists(path), "'", path.string(), "' does not exist");
    return {{path, {}}};
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(path))
    if (entry.is_regular_file() && is_data_file(entry.path())) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    ParquetPart part{file, {}};
    // Hive partitions: every key=value folder between `path` and the file.
    for (const auto& folder : fs::relative(file.parent_path(), path)) {
      const std::string name = folder.string();
      const auto eq = name.find('=');
      if (eq != std::string::npos && eq > 0) part.partitions.emplace_back(name.substr(0, eq), name.substr(eq + 1));
    }
    parts.push_back(std::move(part));
  }
  SEQREC_CHECK(!parts.empty(), "'", path.string(), "' holds no .parquet files");
  return parts;
}

}  // namespace seqrec
