#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "seqrec/serve/model_service.h"

namespace seqrec::serve {

/// The KServe v2 HTTP/REST encoding of inference, with Triton's binary tensor extension. No sockets here.

/// Parses a POST /v2/models/{name}/infer body. With `header_length` (the Inference-Header-Content-Length
/// header) the first that many bytes are JSON and the rest hold the binary inputs, in input order, for the
/// inputs whose parameters give binary_data_size. Throws ServeError(400) saying what is wrong.
InferRequest parse_http_infer_request(std::string_view body, std::optional<size_t> header_length);

/// An encoded HTTP response body.
struct HttpBody {
  std::string body;
  std::string content_type = "application/json";
  std::optional<size_t> header_length;  ///< set when binary outputs follow the JSON header
};

/// Encodes a response: JSON, with the outputs marked binary_output appended as raw tensors.
HttpBody encode_http_infer_response(const InferResponse& response);

/// {"error": message} as Triton writes errors.
std::string error_json(const std::string& message);

}  // namespace seqrec::serve
