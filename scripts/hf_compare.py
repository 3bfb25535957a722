#!/usr/bin/env python3
"""Check goushi's Hugging Face GPT-2 export against a PyTorch forward pass.

The forward pass below is written against the Hugging Face GPT2LMHeadModel
tensor names and layouts (Conv1D weights stored (in, out), GELU with the tanh
approximation, LayerNorm eps from config.json). It needs only torch, numpy
and the standard library: safetensors files are parsed by hand, and the
transformers package is not used.

    compare DIR --reference REF [--tol 1e-4] [--dtype float64]
        Loads the exported model in DIR and runs it on the token ids stored
        in REF, a safetensors file with "ids" (B, T) and goushi's "logits"
        (B*T, V), both F32. Prints one JSON line with the maximum absolute
        difference of the logits, and exits 1 when it exceeds --tol.

    fixture OUT [--seed 1]
        Writes a small random GPT-2 in the Hugging Face layout to OUT
        (model.safetensors, config.json, tokenizer.json) and the PyTorch
        logits on fixed ids to OUT/reference.safetensors, for goushi's
        import test to compare against without Python.

    finetune DIR OUT --ids FILE [--steps 20] [--lr 3e-4] [--batch 4]
        Continues training the exported model in DIR with AdamW on the
        token ids in FILE (whitespace-separated, as `goushi tokenizer
        encode` prints them), as a GPU run in PyTorch would, and saves it
        to OUT in the same layout with the other files of DIR, plus
        OUT/reference.safetensors with the logits of the trained model on
        the first windows of FILE. `goushi import hf --in OUT` brings it
        back, and GOUSHI_HF_IMPORT=OUT with goushi's import test compares
        goushi's logits with these.

Run it with an interpreter that has torch, such as Debian's python3 with
python3-torch and python3-numpy installed.
"""

import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch

DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64}


def read_safetensors(path):
    """Return ({name: numpy array}, metadata) of a safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        raw = body[begin:end]
        if e["dtype"] == "BF16":
            # bfloat16 is the top half of a float32.
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            arr = bits.view(np.float32)
        elif e["dtype"] in DTYPES:
            arr = np.frombuffer(raw, dtype=np.dtype(DTYPES[e["dtype"]]).newbyteorder("<"))
        else:
            raise SystemExit(f"{path}: tensor {name!r} has unsupported dtype {e['dtype']}")
        tensors[name] = arr.reshape(e["shape"])
    return tensors, metadata


def write_safetensors(path, tensors, metadata=None):
    """Write {name: float32 numpy array} as F32 safetensors."""
    header, offset, chunks = {}, 0, []
    if metadata:
        header["__metadata__"] = metadata
    for name, arr in tensors.items():
        raw = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {
            "dtype": "F32",
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        offset += len(raw)
        chunks.append(raw)
    js = json.dumps(header).encode()
    js += b" " * (-(8 + len(js)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(js)))
        f.write(js)
        for c in chunks:
            f.write(c)


def gelu_new(x):
    """GELU with the tanh approximation, GPT-2's "gelu_new"."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def gpt2_logits(w, cfg, ids):
    """Return the logits (B*T, V) of GPT2LMHeadModel weights w for ids (B, T)."""
    B, T = ids.shape
    C, H, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    D = C // H

    def p(name):
        t = w.get("transformer." + name)
        return t if t is not None else w[name]

    def ln(x, name):
        return torch.nn.functional.layer_norm(x, (C,), p(name + ".weight"), p(name + ".bias"), eps)

    def conv1d(x, name):
        return x @ p(name + ".weight") + p(name + ".bias")  # weight (in, out)

    x = p("wte.weight")[ids] + p("wpe.weight")[:T]
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    for i in range(L):
        h = ln(x, f"h.{i}.ln_1")
        q, k, v = conv1d(h, f"h.{i}.attn.c_attn").split(C, dim=-1)
        q, k, v = (t.view(B, T, H, D).transpose(1, 2) for t in (q, k, v))  # (B, H, T, D)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(D)
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + conv1d(y, f"h.{i}.attn.c_proj")
        h = gelu_new(conv1d(ln(x, f"h.{i}.ln_2"), f"h.{i}.mlp.c_fc"))
        x = x + conv1d(h, f"h.{i}.mlp.c_proj")
    x = ln(x, "ln_f")
    head = w.get("lm_head.weight")
    if head is None:
        head = p("wte.weight")  # tied output head
    return (x @ head.T).reshape(B * T, -1)


def load_model(folder, dtype):
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    if cfg.get("activation_function", "gelu_new") not in ("gelu_new", "gelu_pytorch_tanh"):
        raise SystemExit(f"{folder}: activation {cfg['activation_function']} is not GELU tanh")
    arrays, _ = read_safetensors(os.path.join(folder, "model.safetensors"))
    w = {k: torch.from_numpy(np.array(v)).to(dtype) for k, v in arrays.items()}
    return cfg, w


def compare(args):
    dtype = getattr(torch, args.dtype)
    cfg, w = load_model(args.dir, dtype)
    ref, _ = read_safetensors(args.reference)
    ids = torch.from_numpy(ref["ids"].astype(np.int64))
    want = torch.from_numpy(np.array(ref["logits"])).to(torch.float64)
    with torch.no_grad():
        got = gpt2_logits(w, cfg, ids).to(torch.float64)
    if got.shape != want.shape:
        raise SystemExit(f"logits shape {tuple(got.shape)} != reference {tuple(want.shape)}")
    diff = (got - want).abs().max().item()
    report = {
        "max_abs_diff": diff,
        "max_abs_logit": want.abs().max().item(),
        "tokens": int(ids.numel()),
        "vocab": int(want.shape[1]),
        "params": int(sum(t.numel() for t in w.values())),
        "dtype": args.dtype,
        "torch": torch.__version__,
        "tol": args.tol,
        "ok": diff <= args.tol,
    }
    print(json.dumps(report))
    return 0 if report["ok"] else 1


def bytes_to_unicode():
    """GPT-2's byte-to-unicode alphabet, written out from its definition."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1))
    keep += list(range(0xAE, 0xFF + 1))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def fixture(args):
    """Write a random GPT-2 in the Hugging Face layout and its PyTorch logits."""
    g = torch.Generator().manual_seed(args.seed)
    C, H, L, T = 32, 2, 2, 16
    alphabet = bytes_to_unicode()
    merges = [(b" ", b"t"), (b"h", b"e"), (b" t", b"he"), (b"\xe4", b"\xb8")]
    V = 256 + len(merges) + 1  # bytes, merges, <|endoftext|>

    def rand(*shape, std=0.3, mean=0.0):
        return (torch.randn(*shape, generator=g, dtype=torch.float64) * std + mean).float()

    w = {"transformer.wte.weight": rand(V, C), "transformer.wpe.weight": rand(T, C)}
    for i in range(L):
        p = f"transformer.h.{i}."
        for ln in ("ln_1", "ln_2"):
            w[p + ln + ".weight"] = rand(C, std=0.1, mean=1.0)
            w[p + ln + ".bias"] = rand(C, std=0.1)
        w[p + "attn.c_attn.weight"] = rand(C, 3 * C, std=0.2)
        w[p + "attn.c_attn.bias"] = rand(3 * C, std=0.1)
        w[p + "attn.c_proj.weight"] = rand(C, C, std=0.2)
        w[p + "attn.c_proj.bias"] = rand(C, std=0.1)
        w[p + "mlp.c_fc.weight"] = rand(C, 4 * C, std=0.2)
        w[p + "mlp.c_fc.bias"] = rand(4 * C, std=0.1)
        w[p + "mlp.c_proj.weight"] = rand(4 * C, C, std=0.1)
        w[p + "mlp.c_proj.bias"] = rand(C, std=0.1)
    w["transformer.ln_f.weight"] = rand(C, std=0.1, mean=1.0)
    w["transformer.ln_f.bias"] = rand(C, std=0.1)
    cfg = {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": V,
        "n_positions": T,
        "n_embd": C,
        "n_layer": L,
        "n_head": H,
        "n_inner": None,
        "activation_function": "gelu_new",
        "resid_pdrop": 0.1,
        "embd_pdrop": 0.1,
        "attn_pdrop": 0.1,
        "layer_norm_epsilon": 1e-05,
        "bos_token_id": V - 1,
        "eos_token_id": V - 1,
        "torch_dtype": "float32",
    }

    name = lambda bs: "".join(alphabet[b] for b in bs)
    vocab = {alphabet[b]: b for b in range(256)}
    for i, (a, b) in enumerate(merges):
        vocab[name(a + b)] = 256 + i
    vocab["<|endoftext|>"] = V - 1
    tokenizer = {
        "version": "1.0",
        "added_tokens": [{"id": V - 1, "content": "<|endoftext|>", "special": True}],
        "model": {
            "type": "BPE",
            "vocab": vocab,
            "merges": [name(a) + " " + name(b) for a, b in merges],
        },
    }

    ids = torch.randint(0, V, (2, T), generator=g)
    with torch.no_grad():
        w64 = {k: v.double() for k, v in w.items()}
        logits = gpt2_logits(w64, cfg, ids)

    os.makedirs(args.out, exist_ok=True)
    write_safetensors(
        os.path.join(args.out, "model.safetensors"),
        {k: v.numpy() for k, v in w.items()},
        {"format": "pt"},
    )
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(args.out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer, f, ensure_ascii=False, indent=1)
    write_safetensors(
        os.path.join(args.out, "reference.safetensors"),
        {"ids": ids.numpy().astype(np.float32), "logits": logits.numpy()},
        {"seed": str(args.seed), "torch": torch.__version__, "dtype": "float64"},
    )
    return 0


def finetune(args):
    """Train an exported model for a few AdamW steps and save it back."""
    torch.manual_seed(args.seed)
    cfg, w = load_model(args.dir, torch.float32)
    with open(args.ids) as f:
        data = torch.tensor([int(x) for x in f.read().split()], dtype=torch.long)
    T = cfg["n_positions"]
    if len(data) < args.batch * T + 1:
        raise SystemExit(f"{args.ids}: {len(data)} ids, need at least {args.batch * T + 1}")

    params = {k: v.clone().requires_grad_(True) for k, v in w.items()}
    opt = torch.optim.AdamW(params.values(), lr=args.lr, weight_decay=0.1)
    losses = []
    for _ in range(args.steps):
        starts = torch.randint(0, len(data) - T - 1, (args.batch,))
        x = torch.stack([data[s : s + T] for s in starts])
        y = torch.stack([data[s + 1 : s + T + 1] for s in starts])
        loss = torch.nn.functional.cross_entropy(gpt2_logits(params, cfg, x), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())

    os.makedirs(args.out, exist_ok=True)
    for name in sorted(os.listdir(args.dir)):
        if name != "model.safetensors":
            with open(os.path.join(args.dir, name), "rb") as src:
                with open(os.path.join(args.out, name), "wb") as dst:
                    dst.write(src.read())
    trained = {k: v.detach().numpy() for k, v in params.items()}
    write_safetensors(os.path.join(args.out, "model.safetensors"), trained, {"format": "pt"})

    ids = data[: 2 * T].reshape(2, T)
    with torch.no_grad():
        w64 = {k: torch.from_numpy(v).double() for k, v in trained.items()}
        logits = gpt2_logits(w64, cfg, ids)
    write_safetensors(
        os.path.join(args.out, "reference.safetensors"),
        {"ids": ids.numpy().astype(np.float32), "logits": logits.numpy()},
        {"torch": torch.__version__, "dtype": "float64"},
    )
    print(json.dumps({"steps": args.steps, "first_loss": losses[0], "last_loss": losses[-1],
                      "torch": torch.__version__}))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compare", help="compare an exported model with goushi's logits")
    c.add_argument("dir", help="folder written by goushi export hf")
    c.add_argument("--reference", required=True, help="safetensors with ids and logits")
    c.add_argument("--tol", type=float, default=1e-4, help="maximum allowed |difference|")
    c.add_argument("--dtype", default="float64", choices=["float32", "float64"],
                   help="precision of the PyTorch forward pass")
    fx = sub.add_parser("fixture", help="write a random Hugging Face GPT-2 and its logits")
    fx.add_argument("out", help="output folder")
    fx.add_argument("--seed", type=int, default=1, help="torch generator seed")
    ft = sub.add_parser("finetune", help="train an exported model a few steps in PyTorch")
    ft.add_argument("dir", help="folder written by goushi export hf")
    ft.add_argument("out", help="output folder in the same layout")
    ft.add_argument("--ids", required=True, help="file of whitespace-separated token ids")
    ft.add_argument("--steps", type=int, default=20, help="AdamW steps")
    ft.add_argument("--lr", type=float, default=3e-4, help="learning rate")
    ft.add_argument("--batch", type=int, default=4, help="sequences per step")
    ft.add_argument("--seed", type=int, default=1, help="torch seed of the batches")
    args = ap.parse_args()
    return {"compare": compare, "fixture": fixture, "finetune": finetune}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
