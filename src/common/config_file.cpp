#include "seqrec/common/config_file.h"

#include <yaml-cpp/yaml.h>

#include "seqrec/common/error.h"
#include "seqrec/common/io.h"

namespace seqrec {

namespace {

nlohmann::json yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& kv : node) out[kv.first.as<std::string>()] = yaml_to_json(kv.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& item : node) out.push_back(yaml_to_json(item));
      return out;
    }
    case YAML::NodeType::Scalar: {
      if (node.Tag() == "!") return node.as<std::string>();  // a quoted scalar stays a string
      const std::string text = node.as<std::string>();
      if (text == "true" || text == "True") return true;
      if (text == "false" || text == "False") return false;
      if (text == "null" || text == "~") return nullptr;
      try {
        size_t used = 0;
        long long i = std::stoll(text, &used);
        if (used == text.size()) return i;
        double d = std::stod(text, &used);
        if (used == text.size()) return d;
      } catch (const std::exception&) {
      }
      return text;
    }
    default:
      return nullptr;
  }
}

}  // namespace

nlohmann::json read_config_file(const std::filesystem::path& path) {
  const std::string text = read_text_file(path);
  const std::string ext = path.extension().string();
  if (ext == ".yaml" || ext == ".yml") {
    try {
      return yaml_to_json(YAML::Load(text));
    } catch (const YAML::Exception& e) {
      throw InvalidInput(path.string() + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                         ": not valid YAML: " + e.msg);
    }
  }
  try {
    return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const nlohmann::json::parse_error& e) {
    throw InvalidInput(path.string() + ": not valid JSON (byte " + std::to_string(e.byte) + "): " + e.what() +
                       "; YAML files need the extension .yaml or .yml");
  }
}

}  // namespace seqrec
