#include "seqrec/common/error.h"
#include "seqrec/model/gpt2.h"
#include "seqrec/model/session_model.h"

namespace seqrec::model {

std::shared_ptr<SessionModel> make_model(const ModelConfig& config) {
  auto problems = config.problems();
  if (!problems.empty()) {
    std::string msg = "invalid model config:";
    for (const auto& p : problems) msg += "\n  - " + p;
    throw InvalidInput(msg);
  }
  if (config.architecture == "gpt2") return std::make_shared<Gpt2Impl>(config);
  throw InvalidInput("unknown architecture '" + config.architecture + "'");
}

}  // namespace seqrec::model
