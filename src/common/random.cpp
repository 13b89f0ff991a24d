#include "seqrec/common/random.h"

#include <ATen/CPUGeneratorImpl.h>

namespace seqrec {

namespace {
thread_local std::optional<at::Generator> t_step_generator;
}

std::optional<at::Generator> step_generator() { return t_step_generator; }

StepGeneratorScope::StepGeneratorScope(uint64_t seed) : previous_(t_step_generator) {
  t_step_generator = at::make_generator<at::CPUGeneratorImpl>(seed);
}

StepGeneratorScope::~StepGeneratorScope() { t_step_generator = previous_; }

}  // namespace seqrec
