// make_body: the one place that knows every body.
#include "seqrec/common/error.h"
#include "seqrec/model/albert.h"
#include "seqrec/model/body.h"
#include "seqrec/model/electra.h"
#include "seqrec/model/gpt2.h"
#include "seqrec/model/rnn.h"
#include "seqrec/model/transfo_xl.h"
#include "seqrec/model/xlnet.h"

namespace seqrec::model {

std::shared_ptr<BodyImpl> make_body(const ModelConfig& c) {
  if (c.architecture == Architecture::kGpt2) return std::make_shared<Gpt2BodyImpl>(c);
  if (c.architecture == Architecture::kBert) return std::make_shared<BertBodyImpl>(c);
  if (c.architecture == Architecture::kAlbert) return std::make_shared<AlbertBodyImpl>(c);
  if (c.architecture == Architecture::kElectra) return std::make_shared<ElectraBodyImpl>(c);
  if (c.architecture == Architecture::kXlnet) return std::make_shared<XlnetBodyImpl>(c);
  if (c.architecture == Architecture::kTransfoXl) return std::make_shared<TransfoXlBodyImpl>(c);
  if (c.architecture == Architecture::kGru || c.architecture == Architecture::kLstm) return std::make_shared<RnnBodyImpl>(c);
  throw InvalidInput("architecture '" + to_string(c.architecture) + "' has no body of its own (resolve the config first)");
}

}  // namespace seqrec::model
