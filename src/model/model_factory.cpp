#include "seqrec/model/sequence_model.h"
#include "seqrec/model/session_model.h"

namespace seqrec::model {

std::shared_ptr<SessionModel> make_model(const ModelConfig& config) { return std::make_shared<SequenceModelImpl>(config); }

}  // namespace seqrec::model
