#pragma once
#include <filesystem>
#include <string>

#include "seqrec/schema/schema.h"

namespace seqrec::schema {

/// Merlin's schema.pbtxt (TensorFlow Metadata text format, as NVTabular writes it): `feature { name type
/// value_count int_domain float_domain annotation { tag ... } }`. Merlin's compound tags map to ours
/// (item_id -> item + id, session_id -> session + id, user_id -> user + id) and back.
std::string to_pbtxt(const Schema& schema);
/// Parses a schema.pbtxt; `origin` names the file in messages (line:column of a syntax error).
Schema from_pbtxt(const std::string& text, const std::string& origin = "schema.pbtxt");
void save_pbtxt(const Schema& schema, const std::filesystem::path& path);
Schema load_pbtxt(const std::filesystem::path& path);

}  // namespace seqrec::schema
