#include "seqrec/train/lr_schedule.h"

#include <gtest/gtest.h>

#include <cmath>

#include "seqrec/common/error.h"

namespace seqrec::train {

TEST(LrScheduleTest, WarmupRisesLinearlyToOne) {
  for (auto s : {Schedule::kConstant, Schedule::kLinear, Schedule::kCosine}) {
    EXPECT_DOUBLE_EQ(lr_multiplier(s, 0, 10, 110), 0.1);
    EXPECT_DOUBLE_EQ(lr_multiplier(s, 4, 10, 110), 0.5);
    EXPECT_DOUBLE_EQ(lr_multiplier(s, 9, 10, 110), 1.0);
  }
}

TEST(LrScheduleTest, ValuesAfterWarmupAtChosenSteps) {
  EXPECT_DOUBLE_EQ(lr_multiplier(Schedule::kConstant, 500, 10, 110), 1.0);
  EXPECT_DOUBLE_EQ(lr_multiplier(Schedule::kLinear, 10, 10, 110), 1.0);
  EXPECT_DOUBLE_EQ(lr_multiplier(Schedule::kLinear, 60, 10, 110), 0.5);
  EXPECT_DOUBLE_EQ(lr_multiplier(Schedule::kLinear, 85, 10, 110), 0.25);
  EXPECT_DOUBLE_EQ(lr_multiplier(Schedule::kLinear, 110, 10, 110), 0.0);
  EXPECT_DOUBLE_EQ(lr_multiplier(Schedule::kLinear, 200, 10, 110), 0.0);  // past the end stays at 0
  EXPECT_DOUBLE_EQ(lr_multiplier(Schedule::kCosine, 10, 10, 110), 1.0);
  EXPECT_NEAR(lr_multiplier(Schedule::kCosine, 35, 10, 110), 0.5 * (1 + std::cos(M_PI / 4)), 1e-12);
  EXPECT_NEAR(lr_multiplier(Schedule::kCosine, 60, 10, 110), 0.5, 1e-12);
  EXPECT_NEAR(lr_multiplier(Schedule::kCosine, 110, 10, 110), 0.0, 1e-12);
  EXPECT_DOUBLE_EQ(lr_multiplier(Schedule::kLinear, 0, 0, 4), 1.0);  // no warm-up
  EXPECT_DOUBLE_EQ(lr_multiplier(Schedule::kLinear, 1, 0, 4), 0.75);
}

TEST(LrScheduleTest, NamesParseAndUnknownOnesAreRejected) {
  EXPECT_EQ(parse_schedule("cosine"), Schedule::kCosine);
  EXPECT_EQ(to_string(parse_schedule("linear")), "linear");
  try {
    parse_schedule("step");
    FAIL();
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("schedule (--schedule) must be constant, linear or cosine, got 'step'"), std::string::npos);
  }
}

}  // namespace seqrec::train
