#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace seqrec::serve {

/// A failed request, with the HTTP status it maps to (400 bad request, 404 unknown model, 503 unavailable or
/// timed out, 500 bug); gRPC maps the same statuses to INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE, INTERNAL.
class ServeError : public std::runtime_error {
 public:
  ServeError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

/// One KServe v2 tensor, decoded. Exactly one of the value vectors is used, chosen by the datatype:
/// BYTES -> `bytes`; BOOL, INT8..INT64, UINT8..UINT64 -> `ints`; FP32, FP64 -> `floats`.
struct InferTensor {
  std::string name{};
  std::string datatype{};        ///< KServe v2 name: "BYTES", "INT64", "FP32", ...
  std::vector<int64_t> shape{};
  std::vector<std::string> bytes{};
  std::vector<int64_t> ints{};
  std::vector<double> floats{};
  bool binary_output = false;  ///< outputs only: the client asked for the binary tensor extension

  /// Product of the shape (1 for a scalar).
  int64_t element_count() const;
  /// Values held in the vector the datatype selects.
  int64_t value_count() const;
};

/// The kind of vector a datatype decodes into; throws ServeError(400) for an unknown or unsupported one.
enum class TensorKind { kBytes, kInt, kFloat };
TensorKind tensor_kind(const std::string& datatype, const std::string& tensor_name);
/// Bytes per element of a fixed-size datatype; 0 for BYTES.
int64_t element_size(const std::string& datatype);

/// Decodes the binary tensor layout shared by HTTP's binary extension and gRPC's raw contents: little-endian
/// fixed-size elements, or for BYTES each element as a 4-byte little-endian length then its bytes. The size
/// must match the shape exactly; every mismatch is a ServeError(400) naming the tensor.
void decode_raw_tensor(std::string_view raw, InferTensor& tensor);
/// The inverse of decode_raw_tensor.
std::string encode_raw_tensor(const InferTensor& tensor);
/// Throws ServeError(400) unless the shape is non-negative, its product fits, and it matches the values held.
void check_tensor_shape(const InferTensor& tensor);

}  // namespace seqrec::serve
