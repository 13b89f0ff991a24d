#!/usr/bin/python3
"""Reference numbers for tests/model/attention_golden_test.cpp, computed with PyTorch (Debian's python3-torch).

The references are written independently of seqrec's C++: standard attention through torch.nn.MultiheadAttention,
relative attention the way XLNet and Transformer-XL compute it (einsum over [D, H, Dh] weights and the
pad-and-reshape "relative shift"), not the gather seqrec uses. Run: /usr/bin/python3 tests/goldens/attention_goldens.py
"""
import json
import math
import os

import torch

torch.manual_seed(7)
B, L, D, H = 2, 5, 8, 2
DH = D // H
OUT = os.path.join(os.path.dirname(__file__), "..", "data", "goldens", "attention.json")


def t(x):
    return x.detach().double().tolist()


def sinusoid(pos_seq, d):
    inv_freq = 1.0 / (10000 ** (torch.arange(0.0, d, 2.0) / d))
    inp = torch.einsum("i,d->id", pos_seq, inv_freq)
    return torch.cat([inp.sin(), inp.cos()], dim=-1)


def mha_case():
    x = torch.randn(B, L, D)
    padding = torch.tensor([[False] * L, [False, False, False, True, True]])
    mha = torch.nn.MultiheadAttention(D, H, batch_first=True)
    with torch.no_grad():
        mha.in_proj_bias.normal_(0, 0.1)
        mha.out_proj.bias.normal_(0, 0.1)
    causal = torch.ones(L, L, dtype=torch.bool).triu(1)
    out, _ = mha(x, x, x, attn_mask=causal, key_padding_mask=padding, need_weights=False)
    return {"x": t(x), "padding": padding.tolist(), "qkv_weight": t(mha.in_proj_weight), "qkv_bias": t(mha.in_proj_bias),
            "out_weight": t(mha.out_proj.weight), "out_bias": t(mha.out_proj.bias), "output": t(out)}


def rel_shift_xlnet(x, klen):
    # x: [b, n, i, j] with j = klen + qlen relative positions (XLNet's rel_shift_bnij).
    b, n, i, j = x.shape
    x = x.reshape(b, n, j, i)[:, :, 1:, :].reshape(b, n, i, j - 1)
    return torch.index_select(x, 3, torch.arange(klen))


def rel_shift_transfo_xl(x):
    # x: [b, n, qlen, klen] (Transformer-XL's _rel_shift, zero column on the left).
    b, n, q, k = x.shape
    zero = torch.zeros(b, n, q, 1)
    padded = torch.cat([zero, x], dim=3).view(b, n, k + 1, q)
    return padded[:, :, 1:].view_as(x)


def weights():
    ws = {name: torch.randn(D, D) * 0.3 for name in ["q", "k", "v", "r", "o"]}
    ws["r_w_bias"] = torch.randn(H, DH) * 0.3
    ws["r_r_bias"] = torch.randn(H, DH) * 0.3
    return ws


def heads(x, w):  # x [b, l, D], w a Linear weight [D_out, D_in] -> [b, n, l, dh] via XLNet's [D, H, Dh] layout
    param = w.t().reshape(D, H, DH)
    return torch.einsum("blh,hnd->bnld", x, param)


def rel_attention(x, kv, r, blocked, ws, shift):
    q, k, v = heads(x, ws["q"]), heads(kv, ws["k"]), heads(kv, ws["v"])
    kr = torch.einsum("rh,hnd->nrd", r, ws["r"].t().reshape(D, H, DH))
    ac = torch.einsum("bnid,bnjd->bnij", q + ws["r_w_bias"][None, :, None, :], k)
    bd = shift(torch.einsum("bnid,nrd->bnir", q + ws["r_r_bias"][None, :, None, :], kr))
    score = (ac + bd) / math.sqrt(DH)
    score = score.masked_fill(blocked[:, None], float("-inf"))
    prob = torch.softmax(score, dim=-1)
    vec = torch.einsum("bnij,bnjd->bnid", prob, v)
    return torch.einsum("bnid,hnd->bih", vec, ws["o"].reshape(D, H, DH))


def xlnet_case():
    ws = weights()
    h = torch.randn(B, L, D)
    padding = torch.tensor([[False] * L, [False, False, False, False, True]])
    pos = sinusoid(torch.arange(L, -L, -1.0), D)  # klen .. -qlen+1
    blocked = padding[:, None, :].expand(B, L, L)
    out = rel_attention(h, h, pos, blocked, ws, lambda s: rel_shift_xlnet(s, L))
    return {"h": t(h), "padding": padding.tolist(), "weights": {k: t(v) for k, v in ws.items()}, "output": t(out)}


def transfo_xl_case():
    ws = weights()
    M = 3
    memory = torch.randn(B, M, D)
    h = torch.randn(B, L, D)
    kv = torch.cat([memory, h], dim=1)
    klen = M + L
    pos = sinusoid(torch.arange(klen - 1, -1, -1.0), D)
    causal = torch.ones(L, klen, dtype=torch.bool).triu(1 + M)
    blocked = causal[None].expand(B, L, klen)
    out = rel_attention(h, kv, pos, blocked, ws, rel_shift_transfo_xl)
    return {"memory": t(memory), "h": t(h), "weights": {k: t(v) for k, v in ws.items()}, "output": t(out)}


def main():
    golden = {"generator": "tests/goldens/attention_goldens.py", "torch": torch.__version__,
              "sinusoid": {"distances": [3.0, 1.0, 0.0, -2.0], "embedding": t(sinusoid(torch.tensor([3.0, 1.0, 0.0, -2.0]), D))},
              "mha": mha_case(), "xlnet": xlnet_case(), "transfo_xl": transfo_xl_case()}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(golden, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print("wrote", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
