#pragma once
#include <cstdint>
#include <string>

#include "seqrec/common/options_reader.h"

namespace seqrec::train {

/// Learning-rate schedules, as multipliers of the base rate. Each starts with `warmup_steps` of linear warm-up
/// (step s < warmup gives (s + 1) / warmup), then: constant 1; linear decay to 0 at `total_steps`; cosine
/// decay 0.5 (1 + cos(pi p)) with p the fraction of the post-warm-up steps done.
enum class Schedule { kConstant, kLinear, kCosine };

/// "constant", "linear" or "cosine"; throws InvalidInput naming --schedule otherwise.
const Choices<Schedule>& schedule_choices();  ///< constant, linear, cosine
Schedule parse_schedule(const std::string& name);
std::string to_string(Schedule schedule);

/// The multiplier for optimizer step `step` (0-based) of `total_steps`.
double lr_multiplier(Schedule schedule, int64_t step, int64_t warmup_steps, int64_t total_steps);

}  // namespace seqrec::train
