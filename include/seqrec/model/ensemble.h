#pragma once
#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "seqrec/model/session_model.h"

namespace seqrec::model {

/// Models of one catalogue (say, seeds of one recipe) averaged as probabilities: the log of the mean of their
/// softmaxes, [B, num_items]. Ranking by it ranks by the mean probability, and softmax of it is that mean, so the
/// kNN hybrid mixes the ensemble as it mixes one model. Ids 0..2 stay -inf; one member returns its own scores.
/// `batch` carries the features of every member (BatchColumns::merge).
at::Tensor ensemble_scores(const std::vector<std::shared_ptr<SessionModel>>& members, const PrefixBatch& batch);

/// Throws InvalidInput, naming `what`, unless `member` scores the catalogue of `first` over the same history length.
void check_ensemble_member(const SessionModel& first, const SessionModel& member, const std::string& what);

}  // namespace seqrec::model
