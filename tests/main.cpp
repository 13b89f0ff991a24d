#include <gtest/gtest.h>

#include "seqrec/common/runtime.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  seqrec::set_threads(0);
  return RUN_ALL_TESTS();
}
