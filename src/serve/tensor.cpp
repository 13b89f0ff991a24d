#include "seqrec/serve/tensor.h"

#include <cstring>
#include <limits>

namespace seqrec::serve {

namespace {

struct Datatype {
  const char* name;
  TensorKind kind;
  int64_t size;
  bool is_signed;
};

// FP16 and BF16 are valid KServe types but no seqrec input or output uses them; they are refused by name.
constexpr Datatype kDatatypes[] = {
    {"BOOL", TensorKind::kInt, 1, false},   {"INT8", TensorKind::kInt, 1, true},    {"INT16", TensorKind::kInt, 2, true},
    {"INT32", TensorKind::kInt, 4, true},   {"INT64", TensorKind::kInt, 8, true},   {"UINT8", TensorKind::kInt, 1, false},
    {"UINT16", TensorKind::kInt, 2, false}, {"UINT32", TensorKind::kInt, 4, false}, {"UINT64", TensorKind::kInt, 8, false},
    {"FP32", TensorKind::kFloat, 4, true},  {"FP64", TensorKind::kFloat, 8, true},  {"BYTES", TensorKind::kBytes, 0, false},
};

const Datatype& find_datatype(const std::string& name, const std::string& tensor) {
  for (const auto& d : kDatatypes)
    if (name == d.name) return d;
  throw ServeError(400, "tensor '" + tensor + "': datatype '" + name +
                            "' is not supported (expected BOOL, INT8..INT64, UINT8..UINT64, FP32, FP64 or BYTES)");
}

template <typename T>
T load_le(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // x86-64 and aarch64 Linux are little-endian, as the wire format is
  return v;
}

template <typename T>
void store_le(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

// The element count of a shape, refusing negative dimensions and products a hostile client made to overflow.
int64_t checked_elements(const InferTensor& t) {
  constexpr int64_t kLimit = int64_t{1} << 40;
  int64_t n = 1;
  for (int64_t d : t.shape) {
    if (d < 0) throw ServeError(400, "tensor '" + t.name + "': shape has a negative dimension " + std::to_string(d));
    if (d > 0 && n > kLimit / d) throw ServeError(400, "tensor '" + t.name + "': shape is too large");
    n *= d;
  }
  return n;
}

}  // namespace

int64_t InferTensor::element_count() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int64_t InferTensor::value_count() const {
  switch (tensor_kind(datatype, name)) {
    case TensorKind::kBytes: return static_cast<int64_t>(bytes.size());
    case TensorKind::kInt: return static_cast<int64_t>(ints.size());
    case TensorKind::kFloat: return static_cast<int64_t>(floats.size());
  }
  return 0;
}

TensorKind tensor_kind(const std::string& datatype, const std::string& tensor_name) {
  return find_datatype(datatype, tensor_name).kind;
}

int64_t element_size(const std::string& datatype) { return find_datatype(datatype, "").size; }

void check_tensor_shape(const InferTensor& t) {
  const int64_t n = checked_elements(t);
  if (t.value_count() != n)
    throw ServeError(400, "tensor '" + t.name + "': shape holds " + std::to_string(n) + " elements but " +
                              std::to_string(t.value_count()) + " values were given");
}

void decode_raw_tensor(std::string_view raw, InferTensor& t) {
  const Datatype& d = find_datatype(t.datatype, t.name);
  const int64_t n = checked_elements(t);
  if (d.kind == TensorKind::kBytes) {
    t.bytes.clear();
    size_t pos = 0;
    while (pos < raw.size()) {
      if (raw.size() - pos < 4)
        throw ServeError(400, "tensor '" + t.name + "': binary BYTES data ends inside a 4-byte length prefix");
      const uint32_t len = load_le<uint32_t>(raw.data() + pos);
      pos += 4;
      if (raw.size() - pos < len)
        throw ServeError(400, "tensor '" + t.name + "': binary BYTES element of " + std::to_string(len) +
                                  " bytes runs past the end of the data");
      if (static_cast<int64_t>(t.bytes.size()) >= n)
        throw ServeError(400, "tensor '" + t.name + "': binary data holds more than the " + std::to_string(n) +
                                  " elements its shape says");
      t.bytes.emplace_back(raw.data() + pos, len);
      pos += len;
    }
    if (static_cast<int64_t>(t.bytes.size()) != n)
      throw ServeError(400, "tensor '" + t.name + "': shape holds " + std::to_string(n) + " elements but the binary data holds " +
                                std::to_string(t.bytes.size()));
    return;
  }
  if (static_cast<int64_t>(raw.size()) != n * d.size)
    throw ServeError(400, "tensor '" + t.name + "': " + t.datatype + " with " + std::to_string(n) + " elements needs " +
                              std::to_string(n * d.size) + " bytes of binary data, got " + std::to_string(raw.size()));
  const char* p = raw.data();
  if (d.kind == TensorKind::kFloat) {
    t.floats.resize(n);
    for (int64_t i = 0; i < n; ++i)
      t.floats[i] = d.size == 4 ? static_cast<double>(load_le<float>(p + 4 * i)) : load_le<double>(p + 8 * i);
    return;
  }
  t.ints.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    const char* e = p + d.size * i;
    int64_t v = 0;
    switch (d.size) {
      case 1: v = d.is_signed ? load_le<int8_t>(e) : load_le<uint8_t>(e); break;
      case 2: v = d.is_signed ? load_le<int16_t>(e) : load_le<uint16_t>(e); break;
      case 4: v = d.is_signed ? load_le<int32_t>(e) : load_le<uint32_t>(e); break;
      default: {
        if (!d.is_signed && load_le<uint64_t>(e) > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
          throw ServeError(400, "tensor '" + t.name + "': UINT64 value above 2^63-1 at element " + std::to_string(i));
        v = load_le<int64_t>(e);
      }
    }
    t.ints[i] = v;
  }
}

std::string encode_raw_tensor(const InferTensor& t) {
  const Datatype& d = find_datatype(t.datatype, t.name);
  std::string out;
  if (d.kind == TensorKind::kBytes) {
    for (const auto& s : t.bytes) {
      store_le<uint32_t>(out, static_cast<uint32_t>(s.size()));
      out += s;
    }
    return out;
  }
  if (d.kind == TensorKind::kFloat) {
    out.reserve(t.floats.size() * d.size);
    for (double v : t.floats) d.size == 4 ? store_le<float>(out, static_cast<float>(v)) : store_le<double>(out, v);
    return out;
  }
  out.reserve(t.ints.size() * d.size);
  for (int64_t v : t.ints) {
    switch (d.size) {
      case 1: store_le<uint8_t>(out, static_cast<uint8_t>(v)); break;
      case 2: store_le<uint16_t>(out, static_cast<uint16_t>(v)); break;
      case 4: store_le<uint32_t>(out, static_cast<uint32_t>(v)); break;
      default: store_le<int64_t>(out, v);
    }
  }
  return out;
}

}  // namespace seqrec::serve
