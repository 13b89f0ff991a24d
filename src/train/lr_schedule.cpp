#include "seqrec/train/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "seqrec/common/error.h"

namespace seqrec::train {

const Choices<Schedule>& schedule_choices() {
  static const Choices<Schedule> c = {{"constant", Schedule::kConstant}, {"linear", Schedule::kLinear}, {"cosine", Schedule::kCosine}};
  return c;
}

Schedule parse_schedule(const std::string& name) { return parse_choice(schedule_choices(), name, "schedule (--schedule)"); }

std::string to_string(Schedule schedule) { return choice_name(schedule_choices(), schedule); }

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
