#include "seqrec/train/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "seqrec/common/error.h"

namespace seqrec::train {

Schedule parse_schedule(const std::string& name) {
  if (name == "constant") return Schedule::kConstant;
  if (name == "linear") return Schedule::kLinear;
  if (name == "cosine") return Schedule::kCosine;
  throw InvalidInput("--schedule must be constant, linear or cosine; got '" + name + "'");
}

std::string to_string(Schedule schedule) {
  switch (schedule) {
    case Schedule::kConstant: return "constant";
    case Schedule::kLinear: return "linear";
    case Schedule::kCosine: return "cosine";
  }
  return "?";
}

double lr_multiplier(Schedule schedule, int64_t step, int64_t warmup_steps, int64_t total_steps) {
  // (step + 1) so that the very first update already moves: a zero learning rate would waste a step.
  if (step < warmup_steps) return static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  if (schedule == Schedule::kConstant) return 1.0;
  const double span = static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps));
  const double done = std::clamp(static_cast<double>(step - warmup_steps) / span, 0.0, 1.0);
  if (schedule == Schedule::kLinear) return 1.0 - done;
  return 0.5 * (1.0 + std::cos(M_PI * done));
}

}  // namespace seqrec::train
