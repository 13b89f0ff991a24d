#pragma once
#include <filesystem>
#include <string>

#include "seqrec/schema/schema.h"
#include "seqrec/schema/session_dataset.h"

namespace seqrec::schema {

/// Reads sessions stored as Parquet, one row per session, as NVTabular writes its processed output: a file or a
/// folder of part files. The schema names the columns: its item column (tag item_id) becomes the items, its
/// session id column the session ids (else the row numbers), its time list (tag time, a list) the timestamps (else
/// zeros), and every other list or scalar int/float column an extra column with the schema's tags and cardinality.
/// Throws InvalidInput naming the file and the column for a missing column or a type it cannot hold.
SessionTable read_sessions_parquet(const std::filesystem::path& path, const Schema& schema);

/// The sessions of split `name` ("train", "valid", "test") of a data folder: seqrec's own `sessions/<name>`, else
/// NVTabular's `<name>.parquet` or `<name>/` of part files read with the folder's schema (schema.json, else
/// schema.pbtxt). Throws InvalidInput listing what the folder holds when neither is there.
SessionTable read_split(const std::filesystem::path& data_dir, const std::string& name);

}  // namespace seqrec::schema
