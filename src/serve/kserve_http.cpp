#include "seqrec/serve/kserve_http.h"

#include <limits>

namespace seqrec::serve {

using nlohmann::json;

namespace {

constexpr int kMaxShapeRank = 8;

[[noreturn]] void bad(const std::string& message) { throw ServeError(400, message); }

// Appends the leaves of a (possibly nested, as Triton allows) data array, refusing nesting deeper than a shape can be.
void flatten(const json& data, std::vector<const json*>& out, int depth, const std::string& name) {
  if (depth > kMaxShapeRank) bad("input '" + name + "': data is nested deeper than " + std::to_string(kMaxShapeRank) + " levels");
  for (const auto& v : data) {
    if (v.is_array())
      flatten(v, out, depth + 1, name);
    else
      out.push_back(&v);
  }
}

void fill_from_json(const json& data, InferTensor& t) {
  if (!data.is_array()) bad("input '" + t.name + "': data must be an array");
  std::vector<const json*> leaves;
  flatten(data, leaves, 1, t.name);
  const TensorKind kind = tensor_kind(t.datatype, t.name);
  const bool is_bool = t.datatype == "BOOL";
  const bool is_unsigned = t.datatype.rfind("UINT", 0) == 0;
  for (size_t i = 0; i < leaves.size(); ++i) {
    const json& v = *leaves[i];
    auto wrong = [&](const char* expected) {
      bad("input '" + t.name + "' (" + t.datatype + ") element " + std::to_string(i) + ": expected " + expected + ", got " +
          v.dump().substr(0, 64));
    };
    switch (kind) {
      case TensorKind::kBytes:
        if (!v.is_string()) wrong("a string");
        t.bytes.push_back(v.get<std::string>());
        break;
      case TensorKind::kInt:
        if (is_bool) {
          if (!v.is_boolean()) wrong("true or false");
          t.ints.push_back(v.get<bool>() ? 1 : 0);
        } else if (v.is_number_unsigned()) {
          if (v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) wrong("an integer below 2^63");
          t.ints.push_back(static_cast<int64_t>(v.get<uint64_t>()));
        } else if (v.is_number_integer()) {
          if (is_unsigned && v.get<int64_t>() < 0) wrong("a non-negative integer");
          t.ints.push_back(v.get<int64_t>());
        } else {
          wrong("an integer");
        }
        break;
      case TensorKind::kFloat:
        if (!v.is_number()) wrong("a number");
        t.floats.push_back(v.get<double>());
        break;
    }
  }
}

std::vector<int64_t> parse_shape(const json& j, const std::string& name) {
  if (!j.is_array() || j.size() > kMaxShapeRank) bad("input '" + name + "': shape must be an array of at most 8 integers");
  std::vector<int64_t> shape;
  for (const auto& d : j) {
    if (!d.is_number_integer()) bad("input '" + name + "': shape entries must be integers, got " + d.dump().substr(0, 32));
    shape.push_back(d.get<int64_t>());
  }
  return shape;
}

std::string string_field(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end()) bad(where + " has no \"" + key + "\"");
  if (!it->is_string()) bad(where + ": \"" + key + "\" must be a string");
  return it->get<std::string>();
}

}  // namespace

std::string error_json(const std::string& message) { return json{{"error", message}}.dump(-1, ' ', false, json::error_handler_t::replace); }

InferRequest parse_http_infer_request(std::string_view body, std::optional<size_t> header_length) {
  if (header_length && *header_length > body.size())
    bad("Inference-Header-Content-Length is " + std::to_string(*header_length) + " but the body has only " +
        std::to_string(body.size()) + " bytes");
  const std::string_view header = header_length ? body.substr(0, *header_length) : body;
  std::string_view binary = header_length ? body.substr(*header_length) : std::string_view();
  json j;
  try {
    j = json::parse(header.begin(), header.end());
  } catch (const json::exception& e) {
    bad(std::string("the request is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) bad("the request must be a JSON object with \"inputs\"");
  InferRequest request;
  if (j.contains("id")) {
    if (!j["id"].is_string()) bad("\"id\" must be a string");
    request.id = j["id"].get<std::string>();
  }
  bool all_binary = false;
  if (j.contains("parameters")) {
    if (!j["parameters"].is_object()) bad("\"parameters\" must be an object");
    request.parameters = j["parameters"];
    if (request.parameters.contains("binary_data_output")) {
      if (!request.parameters["binary_data_output"].is_boolean()) bad("parameter binary_data_output must be true or false");
      all_binary = request.parameters["binary_data_output"].get<bool>();
      request.parameters.erase("binary_data_output");
    }
  }
  auto inputs = j.find("inputs");
  if (inputs == j.end() || !inputs->is_array()) bad("the request needs \"inputs\": an array of tensors");
  size_t binary_used = 0;
  for (const auto& in : *inputs) {
    if (!in.is_object()) bad("each input must be an object with name, datatype, shape and data");
    InferTensor t;
    t.name = string_field(in, "name", "an input");
    t.datatype = string_field(in, "datatype", "input '" + t.name + "'");
    if (!in.contains("shape")) bad("input '" + t.name + "' has no \"shape\"");
    t.shape = parse_shape(in["shape"], t.name);
    tensor_kind(t.datatype, t.name);
    const json* params = in.contains("parameters") && in["parameters"].is_object() ? &in["parameters"] : nullptr;
    if (params && params->contains("binary_data_size")) {
      const json& size = (*params)["binary_data_size"];
      if (!size.is_number_unsigned() && !(size.is_number_integer() && size.get<int64_t>() >= 0))
        bad("input '" + t.name + "': binary_data_size must be a non-negative integer");
      const auto n = size.get<uint64_t>();
      if (n > binary.size() - binary_used)
        bad("input '" + t.name + "': binary_data_size " + std::to_string(n) + " runs past the end of the body (" +
            std::to_string(binary.size() - binary_used) + " binary bytes left)");
      decode_raw_tensor(binary.substr(binary_used, n), t);
      binary_used += n;
    } else {
      if (!in.contains("data")) bad("input '" + t.name + "' has neither \"data\" nor a binary_data_size parameter");
      fill_from_json(in["data"], t);
    }
    check_tensor_shape(t);
    request.inputs.push_back(std::move(t));
  }
  if (binary_used != binary.size())
    bad("the body carries " + std::to_string(binary.size() - binary_used) + " binary bytes that no input claims");
  if (j.contains("outputs")) {
    if (!j["outputs"].is_array()) bad("\"outputs\" must be an array");
    for (const auto& out : j["outputs"]) {
      if (!out.is_object()) bad("each output must be an object with a name");
      InferTensor t;
      t.name = string_field(out, "name", "an output");
      t.binary_output = all_binary;
      if (out.contains("parameters") && out["parameters"].is_object() && out["parameters"].contains("binary_data")) {
        if (!out["parameters"]["binary_data"].is_boolean()) bad("output '" + t.name + "': binary_data must be true or false");
        t.binary_output = out["parameters"]["binary_data"].get<bool>();
      }
      request.outputs.push_back(std::move(t));
    }
  } else if (all_binary) {
    for (const char* name : {"session_id", "item_ids", "item_id_scores"}) request.outputs.push_back({name, "", {}, {}, {}, {}, true});
  }
  return request;
}

HttpBody encode_http_infer_response(const InferResponse& response) {
  json j = {{"model_name", response.model_name}, {"model_version", response.model_version}};
  if (!response.id.empty()) j["id"] = response.id;
  json outputs = json::array();
  std::string binary;
  for (const auto& t : response.outputs) {
    json o = {{"name", t.name}, {"datatype", t.datatype}, {"shape", t.shape}};
    if (t.binary_output) {
      std::string raw = encode_raw_tensor(t);
      o["parameters"] = {{"binary_data_size", raw.size()}};
      binary += raw;
    } else if (!t.bytes.empty() || t.datatype == "BYTES") {
      o["data"] = t.bytes;
    } else if (!t.floats.empty() || t.datatype.rfind("FP", 0) == 0) {
      o["data"] = t.floats;
    } else {
      o["data"] = t.ints;
    }
    outputs.push_back(std::move(o));
  }
  j["outputs"] = std::move(outputs);
  HttpBody out;
  // Raw ids may hold any bytes; invalid UTF-8 is replaced rather than failing the whole response.
  out.body = j.dump(-1, ' ', false, json::error_handler_t::replace);
  if (!binary.empty()) {
    out.header_length = out.body.size();
    out.body += binary;
    out.content_type = "application/octet-stream";
  }
  return out;
}

}  // namespace seqrec::serve
