#pragma once
#include <nlohmann/json.hpp>

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "seqrec/common/error.h"

namespace seqrec {

/// The key of `known` nearest to `key` (edit distance, case-insensitive), or "" when none is close enough to be a typo.
std::string nearest_key(const std::string& key, const std::vector<std::string>& known);

/// The one message every option source gives for a key it does not know (flags' config files, --train-config, model
/// YAML, workflow files and their ops): "model.yaml: unknown key 'head.repat_bonus' (did you mean 'repeat_bonus'?;
/// known: ...)". `origin` is the file (or "" when there is none), `path` the key with its object's path.
std::string unknown_key_message(const std::string& origin, const std::string& path, const std::string& key,
                                const std::vector<std::string>& known);

/// The names of an enum's values, so a string option is parsed into the enum once, at the edge (a flag, a config
/// key), and the work compares enums: `Choices<SplitMethod>{{"time", SplitMethod::kTime}, ...}`.
template <typename E>
using Choices = std::vector<std::pair<std::string, E>>;

template <typename E>
std::optional<E> find_choice(const Choices<E>& choices, const std::string& name) {
  for (const auto& [text, value] : choices)
    if (text == name) return value;
  return std::nullopt;
}

template <typename E>
std::string choice_name(const Choices<E>& choices, E value) {
  for (const auto& [text, v] : choices)
    if (v == value) return text;
  return "?";
}

/// "what must be a, b or c, got 'x' (did you mean 'b'?)"
template <typename E>
std::string bad_choice_message(const Choices<E>& choices, const std::string& name, const std::string& what) {
  std::vector<std::string> names;
  std::string list;
  for (size_t i = 0; i < choices.size(); ++i) {
    names.push_back(choices[i].first);
    list += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i].first;
  }
  const std::string nearest = nearest_key(name, names);
  return what + " must be " + list + ", got '" + name + "'" + (nearest.empty() ? "" : " (did you mean '" + nearest + "'?)");
}

/// Parses `name` into the enum, or throws InvalidInput naming `what` (the key and its flag), the choices and the nearest.
template <typename E>
E parse_choice(const Choices<E>& choices, const std::string& name, const std::string& what) {
  const auto value = find_choice(choices, name);
  if (!value) throw InvalidInput(bad_choice_message(choices, name, what));
  return *value;
}

/// Reads the keys of one JSON object (parsed from JSON, YAML or TOML) into typed fields, the one strict reader of
/// every option struct: a wrong type or an unknown key becomes a problem naming the file, the key's path and the
/// nearest known key, and reading goes on so that all problems are listed at once.
///
///   OptionsReader(j, "head", origin, problems).read("temperature", head.temperature).read(...).finish();
class OptionsReader {
 public:
  OptionsReader(const nlohmann::json& object, std::string path, std::string origin, std::vector<std::string>& problems);

  template <typename T>
  OptionsReader& read(const char* key, T& field) {
    if (!take(key)) return *this;
    try {
      field = object_.at(key).get<T>();
    } catch (const nlohmann::json::exception&) {
      problem(where(key) + " has the wrong type (" + std::string(object_.at(key).type_name()) + ")");
    }
    return *this;
  }
  /// A nested option struct with `T::from_json_checked(json, path, origin, problems)`.
  template <typename T>
  OptionsReader& read_object(const char* key, T& field) {
    if (take(key)) field = T::from_json_checked(object_.at(key), where(key), origin_, problems_);
    return *this;
  }
  template <typename T>
  OptionsReader& read_list(const char* key, std::vector<T>& field) {
    if (!take(key)) return *this;
    const nlohmann::json& list = object_.at(key);
    if (!list.is_array()) {
      problem(where(key) + " must be a list");
      return *this;
    }
    field.clear();
    for (size_t i = 0; i < list.size(); ++i)
      field.push_back(T::from_json_checked(list[i], where(key) + "[" + std::to_string(i) + "]", origin_, problems_));
    return *this;
  }
  /// A string key parsed into an enum; a name outside `choices` is a problem listing them and the nearest.
  template <typename E>
  OptionsReader& read_choice(const char* key, E& field, const Choices<E>& choices) {
    std::string name;
    if (!take(key)) return *this;
    if (!object_.at(key).is_string()) {
      problem(where(key) + " has the wrong type (" + std::string(object_.at(key).type_name()) + "), expected a string");
      return *this;
    }
    name = object_.at(key).get<std::string>();
    if (const auto value = find_choice(choices, name))
      field = *value;
    else
      problem(bad_choice_message(choices, name, where(key)));
    return *this;
  }
  /// Marks a key as known without reading it (its owner reads it some other way).
  OptionsReader& known(const char* key) {
    known_.insert(key);
    return *this;
  }
  /// Call last: every key not read is reported with the nearest known one.
  void finish();

 private:
  bool take(const char* key);  // records the key as known; true when the object holds a non-null value for it
  std::string where(const std::string& key) const;
  void problem(const std::string& text);
  const nlohmann::json& object_;
  std::string path_, origin_;
  std::vector<std::string>& problems_;
  std::set<std::string> known_;
};

}  // namespace seqrec
