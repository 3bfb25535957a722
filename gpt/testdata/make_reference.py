#!/usr/bin/env python3
"""Write the PyTorch reference that gpt's reference_test.go checks against.

Builds a tiny GPT-2 style model (vocab 64, context 8, 2 layers, 2 heads,
embedding 16) with fixed random weights. In float64, it records the logits
and loss for one batch with two ignored targets and the gradient of every
parameter. It also records the losses, gradient norms and final weights of
10 AdamW steps with gradient clipping. The model follows Hugging Face
GPT-2: pre-LayerNorm blocks, eps 1e-5, tanh GELU, output head tied to the
token embedding.

Regenerate from the repository root with Debian's python3-torch:

    /usr/bin/python3 gpt/testdata/make_reference.py

The weights are drawn in float32 and stored exactly, so both sides start
from identical values. A rerun may differ from the committed file in the
last bits of float64 sums (about 1e-15 relative) and in the key-bias
gradients, whose true value is 0 and which come out as noise near 1e-19.

Output format of ref_gpt2_tiny.bin, little endian: the 8 bytes
"GSREF01\\n", a uint32 header length, a UTF-8 JSON header, then float32
data. The header has the config, ids and targets, the optimizer settings,
and "tensors": a list of {name, shape, offset} where offset counts float32
values from the start of the data.
"""

import json
import math
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

V, T, L, H, C = 64, 8, 2, 2, 16
B = 2
STEPS = 10
LR, BETA1, BETA2, EPS, WD, CLIP = 1e-2, 0.9, 0.95, 1e-8, 0.1, 1.0


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)

    def forward(self, x):
        b, t, c = x.shape
        hd = c // H
        q, k, v = self.c_attn(x).split(c, dim=2)
        q = q.view(b, t, H, hd).transpose(1, 2)
        k = k.view(b, t, H, hd).transpose(1, 2)
        v = v.view(b, t, H, hd).transpose(1, 2)
        att = q @ k.transpose(-2, -1) / math.sqrt(hd)
        mask = torch.tril(torch.ones(t, t, dtype=torch.bool))
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, c)
        return self.c_proj(y)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_fc = nn.Linear(C, 4 * C)
        self.c_proj = nn.Linear(4 * C, C)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(C, eps=1e-5)
        self.attn = Attention()
        self.ln_2 = nn.LayerNorm(C, eps=1e-5)
        self.mlp = MLP()

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(T, C)
        self.h = nn.ModuleList(Block() for _ in range(L))
        self.ln_f = nn.LayerNorm(C, eps=1e-5)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1])
        x = self.wte(ids) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.T  # tied output head


def init_weights(model, gen):
    """Draws float32 weights large enough to exercise every nonlinearity:
    matrices N(0, 0.1), biases N(0, 0.05), LayerNorm gains 1 + N(0, 0.1)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            w = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            if p.dim() == 2:
                w = w * 0.1
            elif ".ln_" in "." + name and name.endswith("weight"):
                w = 1 + w * 0.1
            else:
                w = w * 0.05
            p.copy_(w.double())


def main():
    gen = torch.Generator().manual_seed(20261204)
    model = GPT().double()
    init_weights(model, gen)
    names = [n for n, _ in model.named_parameters()]
    initial = {n: p.detach().clone() for n, p in model.named_parameters()}

    ids = torch.randint(0, V, (B, T), generator=gen)
    targets = torch.randint(0, V, (B, T), generator=gen)
    targets[0, 3] = -1  # one ignored target
    targets[1, 0] = -1

    logits = model(ids)
    loss = F.cross_entropy(logits.view(-1, V), targets.view(-1), ignore_index=-1)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    model.zero_grad()

    decay = [p for p in model.parameters() if p.dim() == 2]
    other = [p for p in model.parameters() if p.dim() != 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": WD}, {"params": other, "weight_decay": 0.0}],
        lr=LR, betas=(BETA1, BETA2), eps=EPS)
    losses, norms = [], []
    for _ in range(STEPS):
        opt.zero_grad()
        step_loss = F.cross_entropy(model(ids).view(-1, V), targets.view(-1),
                                    ignore_index=-1)
        step_loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)))
        opt.step()
        losses.append(float(step_loss))

    tensors, chunks, offset = [], [], 0

    def add(name, t):
        nonlocal offset
        flat = t.detach().reshape(-1).to(torch.float32)
        tensors.append({"name": name, "shape": list(t.shape), "offset": offset})
        chunks.append(flat.numpy().astype("<f4").tobytes())
        offset += flat.numel()

    add("logits", logits.view(-1, V))
    for n in names:
        add("param/" + n, initial[n])
    for n in names:
        add("grad/" + n, grads[n])
    for n, p in model.named_parameters():
        add("final/" + n, p)

    header = {
        "config": {"vocab_size": V, "context_len": T, "layers": L, "heads": H, "embd": C},
        "batch": B,
        "ids": ids.reshape(-1).tolist(),
        "targets": targets.reshape(-1).tolist(),
        "loss": float(loss),
        "adamw": {"lr": LR, "beta1": BETA1, "beta2": BETA2, "eps": EPS,
                  "weight_decay": WD, "clip": CLIP},
        "step_losses": losses,
        "step_grad_norms": norms,
        "torch_version": torch.__version__,
        "tensors": tensors,
    }
    blob = json.dumps(header, separators=(",", ":")).encode()
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ref_gpt2_tiny.bin")
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(b"GSREF01\n")
        f.write(struct.pack("<I", len(blob)))
        f.write(blob)
        for c in chunks:
            f.write(c)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, out)
    print(f"wrote {out}: loss {float(loss):.6f}, {offset} floats")


if __name__ == "__main__":
    main()
