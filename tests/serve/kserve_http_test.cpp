#include "seqrec/serve/kserve_http.h"

#include <gtest/gtest.h>

namespace seqrec::serve {

using nlohmann::json;

namespace {
int status_of_parse(const std::string& body, std::optional<size_t> header_length = std::nullopt) {
  try {
    parse_http_infer_request(body, header_length);
    return 200;
  } catch (const ServeError& e) {
    return e.status();
  }
}
}  // namespace

TEST(KserveHttpTest, RawTensorsRoundTripEveryDatatype) {
  InferTensor bytes{"b", "BYTES", {3}};
  bytes.bytes = {"", "a,b", std::string("\0\xff", 2)};
  const std::string raw = encode_raw_tensor(bytes);
  EXPECT_EQ(raw.size(), 3 * 4 + 0 + 3 + 2u);
  EXPECT_EQ(raw.substr(4, 4), std::string("\x03\x00\x00\x00", 4)) << "little-endian length prefix";
  InferTensor back{"b", "BYTES", {3}};
  decode_raw_tensor(raw, back);
  EXPECT_EQ(back.bytes, bytes.bytes);
  for (const char* type : {"BOOL", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"}) {
    InferTensor t{"i", type, {2, 1}};
    t.ints = {1, std::string(type) == "BOOL" ? 0 : 100};
    InferTensor u{"i", type, {2, 1}};
    decode_raw_tensor(encode_raw_tensor(t), u);
    EXPECT_EQ(u.ints, t.ints) << type;
    EXPECT_EQ(static_cast<int64_t>(encode_raw_tensor(t).size()), 2 * element_size(type)) << type;
  }
  InferTensor i8{"i", "INT8", {1}};
  decode_raw_tensor(std::string("\xfe", 1), i8);
  EXPECT_EQ(i8.ints[0], -2);
  InferTensor f{"f", "FP32", {2}};
  f.floats = {0.5, -2.25};
  InferTensor g{"f", "FP32", {2}};
  decode_raw_tensor(encode_raw_tensor(f), g);
  EXPECT_EQ(g.floats, f.floats);
}

TEST(KserveHttpTest, RawTensorsWithTheWrongSizeAreRefused) {
  InferTensor t{"x", "INT64", {2}};
  EXPECT_THROW(decode_raw_tensor(std::string(15, '\0'), t), ServeError);
  InferTensor b{"x", "BYTES", {1}};
  EXPECT_THROW(decode_raw_tensor(std::string("\x09\x00\x00\x00" "abc", 7), b), ServeError) << "length past the end";
  EXPECT_THROW(decode_raw_tensor(std::string("\x01\x00", 2), b), ServeError) << "truncated prefix";
  EXPECT_THROW(decode_raw_tensor(std::string("\x01\x00\x00\x00" "a" "\x01\x00\x00\x00" "b", 10), b), ServeError)
      << "more elements than the shape";
  InferTensor u{"x", "UINT64", {1}};
  EXPECT_THROW(decode_raw_tensor(std::string(8, '\xff'), u), ServeError);
}

TEST(KserveHttpTest, JsonRequestWithNestedDataAndParameters) {
  auto r = parse_http_infer_request(R"({"id":"42","inputs":[
      {"name":"item_id","datatype":"INT64","shape":[2,2],"data":[[1,2],[3,4]]},
      {"name":"session_id","datatype":"BYTES","shape":[1],"data":["s"]}],
      "outputs":[{"name":"item_ids","parameters":{"binary_data":true}},{"name":"session_id"}],
      "parameters":{"top_k":3,"exclude_seen":true}})",
                                    std::nullopt);
  EXPECT_EQ(r.id, "42");
  ASSERT_EQ(r.inputs.size(), 2u);
  EXPECT_EQ(r.inputs[0].ints, (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(r.inputs[1].bytes, std::vector<std::string>{"s"});
  ASSERT_EQ(r.outputs.size(), 2u);
  EXPECT_TRUE(r.outputs[0].binary_output);
  EXPECT_FALSE(r.outputs[1].binary_output);
  EXPECT_EQ(r.parameters["top_k"], 3);
  EXPECT_EQ(r.parameters["exclude_seen"], true);
}

TEST(KserveHttpTest, BinaryInputsFollowTheJsonHeader) {
  InferTensor ids{"item_id", "INT32", {3}};
  ids.ints = {7, 8, 9};
  const std::string raw = encode_raw_tensor(ids);
  const std::string header = R"({"inputs":[{"name":"item_id","datatype":"INT32","shape":[3],"parameters":{"binary_data_size":12}},)"
                             R"({"name":"session_id","datatype":"BYTES","shape":[1],"data":["s"]}],"parameters":{"binary_data_output":true}})";
  auto r = parse_http_infer_request(header + raw, header.size());
  EXPECT_EQ(r.inputs[0].ints, ids.ints);
  ASSERT_EQ(r.outputs.size(), 3u) << "binary_data_output asks for every output in binary";
  EXPECT_TRUE(r.outputs[2].binary_output);
  EXPECT_FALSE(r.parameters.contains("binary_data_output"));
  EXPECT_EQ(status_of_parse(header + raw + "x", header.size()), 400) << "unclaimed bytes";
  EXPECT_EQ(status_of_parse(header + raw.substr(0, 8), header.size()), 400) << "short binary data";
}

TEST(KserveHttpTest, ResponseEncodesJsonAndBinaryOutputs) {
  InferResponse response{"m", "1", "id-1", {}};
  InferTensor s{"session_id", "BYTES", {1}};
  s.bytes = {"s"};
  InferTensor scores{"item_id_scores", "FP32", {1, 2}};
  scores.floats = {1.5, 0.25};
  scores.binary_output = true;
  response.outputs = {s, scores};
  auto body = encode_http_infer_response(response);
  ASSERT_TRUE(body.header_length);
  EXPECT_EQ(body.content_type, "application/octet-stream");
  auto header = json::parse(body.body.substr(0, *body.header_length));
  EXPECT_EQ(header["id"], "id-1");
  EXPECT_EQ(header["outputs"][0]["data"], json::array({"s"}));
  EXPECT_EQ(header["outputs"][1]["parameters"]["binary_data_size"], 8);
  EXPECT_FALSE(header["outputs"][1].contains("data"));
  EXPECT_EQ(body.body.size(), *body.header_length + 8);
  response.outputs[1].binary_output = false;
  auto plain = encode_http_infer_response(response);
  EXPECT_FALSE(plain.header_length);
  EXPECT_EQ(json::parse(plain.body)["outputs"][1]["data"], json::array({1.5, 0.25}));
}

TEST(KserveHttpTest, MalformedJsonRequestsAre400) {
  EXPECT_EQ(status_of_parse("nope"), 400);
  EXPECT_EQ(status_of_parse(R"({"inputs":{}})"), 400);
  EXPECT_EQ(status_of_parse(R"({"inputs":[{"datatype":"BYTES","shape":[1],"data":["a"]}]})"), 400) << "no name";
  EXPECT_EQ(status_of_parse(R"({"inputs":[{"name":"a","datatype":"BYTES","data":["a"]}]})"), 400) << "no shape";
  EXPECT_EQ(status_of_parse(R"({"inputs":[{"name":"a","datatype":"BYTES","shape":[1]}]})"), 400) << "no data";
  EXPECT_EQ(status_of_parse(R"({"inputs":[{"name":"a","datatype":"UINT8","shape":[1],"data":[-1]}]})"), 400);
  EXPECT_EQ(status_of_parse(R"({"inputs":[{"name":"a","datatype":"BOOL","shape":[1],"data":[1]}]})"), 400);
  EXPECT_EQ(status_of_parse(R"({"inputs":[{"name":"a","datatype":"INT64","shape":[1],"data":[1.5]}]})"), 400);
  EXPECT_EQ(status_of_parse(R"({"inputs":[{"name":"a","datatype":"INT64","shape":[1],"data":[18446744073709551615]}]})"), 400);
  EXPECT_EQ(status_of_parse(R"({"inputs":[{"name":"a","datatype":"BYTES","shape":[1,1,1,1,1,1,1,1,1],"data":["a"]}]})"), 400);
  EXPECT_EQ(status_of_parse(R"({"inputs":[],"parameters":[]})"), 400);
  EXPECT_EQ(status_of_parse(R"({"inputs":[],"outputs":[{"name":1}]})"), 400);
  EXPECT_EQ(status_of_parse(R"({"inputs":[]})"), 200) << "empty is well-formed; the service refuses it as no events";
}

}  // namespace seqrec::serve
