#pragma once
#include <ATen/core/Tensor.h>

namespace seqrec::model {

/// Multi-head self-attention over packed tokens (see TokenPacking in attention.h), each session at its own
/// length: scores, softmax, dropout on the weights and the value product in one pass per (session, head),
/// with a hand-written backward that recomputes the dropout mask instead of storing it. Unpacking to
/// [B, H, L, L] made training pay for every padding position and a dozen LibTorch ops per layer (bench/NOTES.md).
///
/// qkv: [N, 3D] float CPU, each real token's q, k and v (num_heads heads of D / num_heads each); offsets:
/// [B + 1] int64 CPU, session b's tokens are qkv rows [offsets[b], offsets[b + 1]) in position order. `causal`:
/// a token sees itself and its session's earlier tokens; else its whole session. Returns the context [N, D].
at::Tensor packed_attention(const at::Tensor& qkv, const at::Tensor& offsets, int64_t num_heads, bool causal,
                            double dropout, bool training);

/// False when SEQREC_ATTENTION=sdpa asks for LibTorch's scaled_dot_product_attention on the CPU too.
bool cpu_attention_kernels_enabled();

/// True when packed_attention can take `qkv` (float on the CPU, seqrec's kernels enabled).
bool packed_attention_applies(const at::Tensor& qkv);

}  // namespace seqrec::model
