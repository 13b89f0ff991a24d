#include "etl/partition_store.h"

#include "seqrec/common/error.h"
#include "seqrec/etl/vocabulary.h"

namespace seqrec::etl::detail {

namespace {

template <typename T>
void put(std::ostream& out, const T& v) {
  out.write(reinterpret_cast<const char*>(&v), sizeof(T));
}
template <typename T>
bool get(std::istream& in, T& v) {
  return static_cast<bool>(in.read(reinterpret_cast<char*>(&v), sizeof(T)));
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
    if (masked)
      for (int64_t r : rows) put<uint8_t>(out, c.nulls[r]);
    switch (c.dtype) {
      case DType::kFloat64:
        for (int64_t r : rows) put(out, c.floats[r]);
        break;
      case DType::kString:
        for (int64_t r : rows) {
          const auto& s = c.strings[r];
          put<uint32_t>(out, static_cast<uint32_t>(s.size()));
          out.write(s.data(), static_cast<std::streamsize>(s.size()));
        }
        break;
      default:
        for (int64_t r : rows) put(out, c.ints[r]);
        break;
    }
  }
}

bool read_block(std::istream& in, Frame& frame) {
  uint32_t ncols = 0;
  uint64_t nrows = 0;
  if (!get(in, ncols)) return false;
  SEQREC_ASSERT(get(in, nrows), "truncated spill block");
  Frame block;
  for (uint32_t k = 0; k < ncols; ++k) {
    uint32_t len = 0;
    get(in, len);
    std::string name(len, '\0');
    in.read(name.data(), len);
    uint8_t dtype = 0, masked = 0;
    get(in, dtype);
    get(in, masked);
    Column c(name, static_cast<DType>(dtype));
    if (masked) {
      c.nulls.resize(nrows);
      in.read(reinterpret_cast<char*>(c.nulls.data()), static_cast<std::streamsize>(nrows));
    }
    switch (c.dtype) {
      case DType::kFloat64:
        c.floats.resize(nrows);
        in.read(reinterpret_cast<char*>(c.floats.data()), static_cast<std::streamsize>(nrows * sizeof(double)));
        break;
      case DType::kString:
        c.strings.resize(nrows);
        for (auto& s : c.strings) {
          get(in, len);
          s.resize(len);
          in.read(s.data(), len);
        }
        break;
      default:
        c.ints.resize(nrows);
        in.read(reinterpret_cast<char*>(c.ints.data()), static_cast<std::streamsize>(nrows * sizeof(int64_t)));
        break;
    }
    SEQREC_ASSERT(static_cast<bool>(in), "truncated spill block");
    block.columns.push_back(std::move(c));
  }
  frame.append(block);
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

Frame PartitionStore::load(int p) const {
  std::ifstream in(dir_ / ("part-" + std::to_string(p) + ".bin"), std::ios::binary);
  Frame frame;
  while (read_block(in, frame)) {}
  return frame;
}

}  // namespace seqrec::etl::detail
