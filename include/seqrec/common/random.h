#pragma once
#include <ATen/core/Generator.h>
#include <c10/util/Optional.h>

#include <cstdint>

namespace seqrec {

/// The generator a training step's random draws (dropout, masking, negatives) pass to LibTorch. Data-parallel
/// training (train/replicas.h) gives each replica's thread its own, seeded per micro-batch, so a run repeats
/// however the threads interleave; everywhere else it is nullopt, LibTorch's default generator.
std::optional<at::Generator> step_generator();

/// Installs a CPU generator seeded with `seed` as the calling thread's step_generator() for its lifetime.
class StepGeneratorScope {
 public:
  explicit StepGeneratorScope(uint64_t seed);
  ~StepGeneratorScope();
  StepGeneratorScope(const StepGeneratorScope&) = delete;
  StepGeneratorScope& operator=(const StepGeneratorScope&) = delete;

 private:
  std::optional<at::Generator> previous_;
};

}  // namespace seqrec
