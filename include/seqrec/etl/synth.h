#pragma once
#include <cstdint>
#include <ostream>

namespace seqrec::etl {

/// A generated e-commerce click log with planted sequential structure, deterministic for a seed.
struct SynthOptions {
  int64_t sessions = 10000;
  int64_t items = 1000;
  int64_t categories = 20;
  int64_t days = 7;                 ///< timestamps spread over this many days
  int64_t start_epoch_s = 1704067200;  ///< 2024-01-01T00:00:00Z
  double zipf_exponent = 1.1;       ///< popularity ~ 1 / rank^exponent
  double follow_probability = 0.7;  ///< chance the next click follows the item's hidden successor
  double mean_length = 6.0;         ///< mean session length (>= 2)
  uint64_t seed = 1;
};

/// Writes "session_id,item_id,timestamp,category,price" rows (timestamp in epoch seconds), sessions in
/// start-time order. Each category's items form a hidden cycle; with `follow_probability` a click moves
/// to the current item's successor, otherwise to a popular item of the same category or of the catalogue.
/// Returns the number of events written.
int64_t write_synth_events(const SynthOptions& options, std::ostream& out);

}  // namespace seqrec::etl
