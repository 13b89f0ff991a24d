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
  if (c.architecture == "gpt2") return std::make_shared<Gpt2BodyImpl>(c);
  if (c.architecture == "bert") return std::make_shared<BertBodyImpl>(c);
  if (c.architecture == "albert") return std::make_shared<AlbertBodyImpl>(c);
  if (c.architecture == "electra") return std::make_shared<ElectraBodyImpl>(c);
  if (c.architecture == "xlnet") return std::make_shared<XlnetBodyImpl>(c);
  if (c.architecture == "transfo_xl") return std::make_shared<TransfoXlBodyImpl>(c);
  if (c.architecture == "gru" || c.architecture == "lstm") return std::make_shared<RnnBodyImpl>(c);
  throw InvalidInput("unknown architecture '" + c.architecture + "'");
}

}  // namespace seqrec::model
