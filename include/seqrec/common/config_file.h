#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>

namespace seqrec {

/// Reads a config file as JSON: YAML when the extension is .yaml or .yml (converted: plain scalars become
/// booleans and numbers where they read as such, quoted ones stay strings), JSON with comments otherwise.
/// Throws InvalidInput naming the file, line and column of a syntax error.
nlohmann::json read_config_file(const std::filesystem::path& path);

}  // namespace seqrec
