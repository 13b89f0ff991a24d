#include "seqrec/model/batch.h"

#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>

#include <algorithm>

#include "seqrec/common/error.h"

namespace seqrec::model {

namespace {
at::Tensor to_tensor(std::vector<int64_t>& data, std::vector<int64_t> shape, c10::Device device) {
  auto host = at::from_blob(data.data(), shape, at::kLong);
  if (device.is_cpu()) return host.clone();
  // A GPU batch goes through pinned memory, so the copy is asynchronous and overlaps the previous step's kernels;
  // the pinned allocator keeps the block until the copy on the stream has finished.
  auto pinned = at::empty(shape, at::TensorOptions(at::kLong).pinned_memory(true));
  pinned.copy_(host);
  return pinned.to(device, /*non_blocking=*/true);
}
}  // namespace

PrefixBatch make_prefix_batch(const schema::SessionTable& table, const std::vector<int64_t>& rows, int64_t max_length,
                              bool hold_out_last, c10::Device device) {
  const int64_t B = static_cast<int64_t>(rows.size());
  int64_t L = 1;
  for (int64_t r : rows) L = std::max(L, std::min(max_length, table.length(r) - (hold_out_last ? 1 : 0)));
  std::vector<int64_t> items(B * L, 0), lengths(B, 0), targets(B, 0);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t* s = table.items_of(rows[b]);
    int64_t n = table.length(rows[b]);
    if (hold_out_last) {
      SEQREC_ASSERT(n >= 1);
      targets[b] = s[n - 1];
      --n;
    }
    const int64_t keep = std::min(n, max_length);
    std::copy(s + n - keep, s + n, items.begin() + b * L);
    lengths[b] = keep;
  }
  return {to_tensor(items, {B, L}, device), to_tensor(lengths, {B}, device), to_tensor(targets, {B}, device)};
}

at::Tensor make_training_batch(const schema::SessionTable& table, const std::vector<int64_t>& rows, int64_t sequence_length,
                               c10::Device device) {
  const int64_t B = static_cast<int64_t>(rows.size());
  int64_t L = 1;
  for (int64_t r : rows) L = std::max(L, std::min(sequence_length, table.length(r)));
  std::vector<int64_t> items(B * L, 0);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t* s = table.items_of(rows[b]);
    const int64_t n = table.length(rows[b]);
    const int64_t keep = std::min(n, sequence_length);
    std::copy(s + n - keep, s + n, items.begin() + b * L);
  }
  return to_tensor(items, {B, L}, device);
}

}  // namespace seqrec::model
