#include "etl/partition_store.h"

#include <cstring>
#include <string_view>

#include "seqrec/common/error.h"
#include "seqrec/etl/vocabulary.h"

namespace seqrec::etl::detail {

namespace {

template <typename T>
void put(std::ostream& out, const T& v) {
  out.write(reinterpret_cast<const char*>(&v), sizeof(T));
}

}  // namespace

void write_block(std::ostream& out, const Frame& frame, const std::vector<int64_t>& rows) {
  put<uint32_t>(out, static_cast<uint32_t>(frame.columns.size()));
  put<uint64_t>(out, rows.size());
  for (const auto& c : frame.columns) {
    SEQREC_ASSERT(!c.is_list, "spilling list column ", c.name);
    put<uint32_t>(out, static_cast<uint32_t>(c.name.size()));
    out.write(c.name.data(), static_cast<std::streamsize>(c.name.size()));
    put<uint8_t>(out, static_cast<uint8_t>(c.dtype));
    const bool masked = !c.nulls.empty();
    put<uint8_t>(out, masked ? 1 : 0);
    if (masked) {
      std::vector<uint8_t> mask;
      mask.reserve(rows.size());
      for (int64_t r : rows) mask.push_back(c.nulls[r]);
      out.write(reinterpret_cast<const char*>(mask.data()), static_cast<std::streamsize>(mask.size()));
    }
    switch (c.dtype) {
      case DType::kFloat64: {
        std::vector<double> values;
        values.reserve(rows.size());
        for (int64_t r : rows) values.push_back(c.floats[r]);
        out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(double)));
        break;
      }
      case DType::kString: {
        // Lengths first, then one blob: the reader sizes everything before it copies.
        std::vector<uint32_t> lengths;
        lengths.reserve(rows.size());
        std::string blob;
        for (int64_t r : rows) {
          lengths.push_back(static_cast<uint32_t>(c.strings[r].size()));
          blob += c.strings[r];
        }
        out.write(reinterpret_cast<const char*>(lengths.data()), static_cast<std::streamsize>(lengths.size() * sizeof(uint32_t)));
        put<uint64_t>(out, blob.size());
        out.write(blob.data(), static_cast<std::streamsize>(blob.size()));
        break;
      }
      default: {
        std::vector<int64_t> values;
        values.reserve(rows.size());
        for (int64_t r : rows) values.push_back(c.ints[r]);
        out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(int64_t)));
        break;
      }
    }
  }
}

bool read_block(std::string_view& in, Frame& frame, const std::set<std::string>* only) {
  auto take = [&](void* dst, size_t n) {
    SEQREC_ASSERT(in.size() >= n, "truncated spill block");
    std::memcpy(dst, in.data(), n);
    in.remove_prefix(n);
  };
  if (in.empty()) return false;
  uint32_t ncols = 0;
  uint64_t nrows = 0;
  take(&ncols, sizeof ncols);
  take(&nrows, sizeof nrows);
  for (uint32_t k = 0; k < ncols; ++k) {
    uint32_t len = 0;
    take(&len, sizeof len);
    std::string name(len, '\0');
    take(name.data(), len);
    uint8_t dtype = 0, masked = 0;
    take(&dtype, 1);
    take(&masked, 1);
    if (only && !only->count(name)) {
      // A column this pass does not read: step over it.
      size_t skip = masked ? nrows : 0;
      if (static_cast<DType>(dtype) == DType::kString) {
        SEQREC_ASSERT(in.size() >= skip + nrows * sizeof(uint32_t) + sizeof(uint64_t), "truncated spill block");
        uint64_t bytes = 0;
        std::memcpy(&bytes, in.data() + skip + nrows * sizeof(uint32_t), sizeof bytes);
        skip += nrows * sizeof(uint32_t) + sizeof(uint64_t) + bytes;
      } else {
        skip += nrows * 8;
      }
      SEQREC_ASSERT(in.size() >= skip, "truncated spill block");
      in.remove_prefix(skip);
      continue;
    }
    if (!frame.find(name)) frame.columns.emplace_back(name, static_cast<DType>(dtype));
    // Values go straight into the frame's columns: no per-block frame to copy again.
    Column& c = *frame.find(name);
    const size_t before = c.num_values();
    if (masked) {
      c.nulls.resize(before, 0);
      c.nulls.resize(before + nrows);
      take(c.nulls.data() + before, nrows);
    } else if (!c.nulls.empty()) {
      c.nulls.resize(before + nrows, 0);
    }
    switch (c.dtype) {
      case DType::kFloat64:
        c.floats.resize(before + nrows);
        take(c.floats.data() + before, nrows * sizeof(double));
        break;
      case DType::kString: {
        std::vector<uint32_t> lengths(nrows);
        take(lengths.data(), nrows * sizeof(uint32_t));
        uint64_t bytes = 0;
        take(&bytes, sizeof bytes);
        SEQREC_ASSERT(in.size() >= bytes, "truncated spill block");
        size_t pos = 0;
        for (uint32_t l : lengths) {
          c.strings.emplace_back(in.data() + pos, l);
          pos += l;
        }
        in.remove_prefix(bytes);
        break;
      }
      default:
        c.ints.resize(before + nrows);
        take(c.ints.data() + before, nrows * sizeof(int64_t));
        break;
    }
  }
  return true;
}

PartitionStore::PartitionStore(std::filesystem::path dir, int partitions, std::string key_column)
    : dir_(std::move(dir)), key_(std::move(key_column)) {
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  files_.resize(std::max(1, partitions));
  for (size_t p = 0; p < files_.size(); ++p) {
    files_[p].open(dir_ / ("part-" + std::to_string(p) + ".bin"), std::ios::binary | std::ios::trunc);
    SEQREC_CHECK(files_[p], "cannot create spill file in '", dir_.string(), "'");
  }
}

PartitionStore::~PartitionStore() {
  files_.clear();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void PartitionStore::add(const Frame& chunk) {
  const Column& key = chunk.at(key_, "Groupby");
  const int64_t n = chunk.rows();
  const uint64_t parts = files_.size();
  std::vector<std::vector<int64_t>> rows(parts);
  for (auto& r : rows) r.reserve(static_cast<size_t>(n / static_cast<int64_t>(parts) + 16));
  for (int64_t i = 0; i < n; ++i) {
    uint64_t h = key.is_null(i) ? 0
                 : key.dtype == DType::kString ? stable_hash(key.strings[i])
                 : key.dtype == DType::kFloat64 ? mix64(static_cast<uint64_t>(key.floats[i]))
                                                : mix64(static_cast<uint64_t>(key.ints[i]));
    rows[h % parts].push_back(i);
  }
  for (uint64_t p = 0; p < parts; ++p)
    if (!rows[p].empty()) write_block(files_[p], chunk, rows[p]);
  rows_ += n;
}

void PartitionStore::close() {
  for (auto& f : files_) {
    f.flush();
    SEQREC_CHECK(f.good(), "failed writing spill files in '", dir_.string(), "' (disk full?)");
    f.close();
  }
}

Frame PartitionStore::load(int p, const std::set<std::string>* only) const {
  // One read of the whole file, then parsing from memory: istream's per-call overhead dominated otherwise.
  const auto path = dir_ / ("part-" + std::to_string(p) + ".bin");
  std::string bytes(std::filesystem::file_size(path), '\0');
  std::ifstream file(path, std::ios::binary);
  file.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  SEQREC_CHECK(file.good() || bytes.empty(), "cannot read spill file '", path.string(), "'");
  std::string_view in(bytes);
  Frame frame;
  while (read_block(in, frame, only)) {}
  return frame;
}

}  // namespace seqrec::etl::detail
