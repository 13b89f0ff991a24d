#include "seqrec/model/ensemble.h"

#include <ATen/ATen.h>

#include <cmath>

#include "seqrec/common/error.h"

namespace seqrec::model {

at::Tensor ensemble_scores(const std::vector<std::shared_ptr<SessionModel>>& members, const PrefixBatch& batch) {
  SEQREC_CHECK(!members.empty(), "an ensemble needs at least one model");
  if (members.size() == 1) return members[0]->next_item_scores(batch);
  // log mean p = logsumexp over members of log p - log M: no underflow for items every member finds unlikely.
  std::vector<at::Tensor> log_probs;
  for (const auto& m : members) log_probs.push_back(at::log_softmax(m->next_item_scores(batch), 1));
  return at::logsumexp(at::stack(log_probs), 0) - std::log(static_cast<double>(members.size()));
}

void check_ensemble_member(const SessionModel& first, const SessionModel& member, const std::string& what) {
  SEQREC_CHECK(member.config().num_items == first.config().num_items, what, " scores ", member.config().num_items,
               " item ids, the first model ", first.config().num_items, ": an ensemble needs one catalogue");
  SEQREC_CHECK(member.config().max_length == first.config().max_length, what, " reads ", member.config().max_length,
               " history items, the first model ", first.config().max_length, ": an ensemble needs one max_length");
}

}  // namespace seqrec::model
