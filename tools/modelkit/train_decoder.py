#!/usr/bin/python3
"""Train a noise-injected (CapDec-style) prefix-tokens caption decoder for ANY CLIP, from text alone.

Input: a JSONL file, one {"caption": "...", "embedding": [d floats]} per line: the CLIP text embedding of each
caption (the engine's CLI writes this from any CLIP pack). Output directory:
  decoder.onnx     prefix [B,d] float32 + input_ids [B,T] int64 -> logits [B,T,V] (opset 14, dynamic B and T)
                   and `present`, the KV cache; decoder_step.onnx continues one token at a time from it
                   (decoder_cache.py; the engine decodes incrementally). --no-cache writes the plain graph only.
  tokenizer.json   the word tokenizer the decoder's ids refer to (docs/pack-format.md)
  decoder.json     a `decoders[]` entry for pack.json (id, file, noiseVariance, kind, roles, inputs, outputs) +
                   training details. A pack using it must also use this tokenizer for the decoder.

Training: x' = normalize(normalize(x) + eps), eps ~ N(0, sigma^2 I) drawn fresh per step (sigma^2 = --noise-variance,
0.016 by default, the papers' value), teacher-forced cross-entropy over [bos] words [eos], pad ignored.

  /usr/bin/python3 tools/modelkit/train_decoder.py --data pairs.jsonl --out DIR [--noise-variance 0.016]
"""
from __future__ import annotations

import argparse
import collections
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from decoder_cache import cache_specs, export_cached  # noqa: E402
from models import BOS, PAD, SPECIALS, Decoder, WordTokenizer  # noqa: E402


def cosine_lr(step, total, base, warm):
    if step < warm:
        return base * (step + 1) / warm
    p = (step - warm) / max(1, total - warm)
    return base * 0.5 * (1 + math.cos(math.pi * p))


def param_groups(model, wd):
    decay, no = [], []
    for n, p in model.named_parameters():
        (decay if p.ndim == 2 and "pos" not in n and "tok" not in n else no).append(p)
    return [{"params": decay, "weight_decay": wd}, {"params": no, "weight_decay": 0.0}]


def train(tok: WordTokenizer, captions: list[str], emb: torch.Tensor, sigma2: float, epochs: int, seed: int, cfg: dict,
          lr: float = 1e-3, batch: int = 256, log=print) -> Decoder:
    """Train a Decoder on (caption, text embedding) pairs with noise variance sigma2 (bf16 autocast, 1 thread)."""
    torch.manual_seed(seed)
    dec = Decoder(len(tok.vocab), emb.shape[1], cfg["width"], cfg["layers"], cfg["heads"], cfg["prefix_len"], cfg["ctx"])
    ids_all, mask_all = tok.batch(captions)
    x_all = F.normalize(emb.float(), dim=-1)
    N = len(captions)
    bs = min(batch, N)
    steps_per = max(1, N // bs)
    total = steps_per * epochs
    opt = torch.optim.AdamW(param_groups(dec, 0.01), lr=lr, betas=(0.9, 0.98))
    g = torch.Generator().manual_seed(seed)
    sigma = math.sqrt(sigma2)
    step = 0
    dec.train()
    for ep in range(epochs):
        perm = torch.randperm(N, generator=g)
        tl = 0.0
        for b in range(steps_per):
            idx = perm[b * bs : (b + 1) * bs]
            x = x_all[idx]
            if sigma > 0:
                x = F.normalize(x + sigma * torch.randn(x.shape, generator=g), dim=-1)
            ids, mask = ids_all[idx], mask_all[idx]
            T = int(mask.sum(1).max())
            ids = ids[:, :T]
            inp, tgt = ids[:, :-1], ids[:, 1:].clone()
            tgt[tgt == PAD] = -100
            for gr in opt.param_groups:
                gr["lr"] = cosine_lr(step, total, lr, min(200, total // 10 + 1))
            with torch.autocast("cpu", dtype=torch.bfloat16):
                logits = dec(x, inp)
            loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=-100)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(dec.parameters(), 1.0)
            opt.step()
            step += 1
            tl += float(loss)
        log(f"decoder sigma2={sigma2:.4g} epoch {ep + 1}/{epochs} loss {tl / steps_per:.3f}")
    dec.eval()
    return dec


def export(dec: Decoder, path: str, vocab_size: int) -> None:
    dec.eval()
    p = F.normalize(torch.randn(2, dec.cfg["dim"]), dim=-1)
    ids = torch.tensor([[BOS, 5 % vocab_size, 6 % vocab_size], [BOS, 7 % vocab_size, 8 % vocab_size]])
    torch.onnx.export(dec, (p, ids), path, input_names=["prefix", "input_ids"], output_names=["logits"], opset_version=14,
                      dynamic_axes={"prefix": {0: "batch"}, "input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}})


def decoder_entry(d_id: str, file: str, sigma2: float, dim: int, vocab: int, description: str) -> dict:
    return {"id": d_id, "file": file, "noiseVariance": sigma2, "kind": "prefix-tokens", "description": description,
            "roles": {"prefix": "prefix", "ids": "input_ids", "logits": "logits"},
            "inputs": [{"name": "prefix", "shape": ["batch", dim], "dtype": "float32"}, {"name": "input_ids", "shape": ["batch", "seq"], "dtype": "int64"}],
            "outputs": [{"name": "logits", "shape": ["batch", "seq", vocab], "dtype": "float32"}]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help='JSONL of {"caption": str, "embedding": [floats]}')
    ap.add_argument("--out", required=True)
    ap.add_argument("--noise-variance", type=float, default=0.016)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--prefix-len", type=int, default=4)
    ap.add_argument("--max-length", type=int, default=24, help="tokenizer maxLength (bos + words + eos)")
    ap.add_argument("--min-count", type=int, default=1, help="words seen fewer times map to <unk>")
    ap.add_argument("--max-vocab", type=int, default=20000)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--id", default=None, help="decoder id in decoder.json (default noise-<variance>)")
    ap.add_argument("--no-cache", action="store_true", help="export only the plain graph (no KV-cache step model)")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.time()
    caps, embs = [], []
    with open(a.data, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            if not isinstance(r.get("caption"), str) or not isinstance(r.get("embedding"), list):
                raise SystemExit(f"{a.data}:{n}: expected {{\"caption\": str, \"embedding\": [floats]}}")
            caps.append(r["caption"])
            embs.append(r["embedding"])
    if not caps:
        raise SystemExit("no pairs in " + a.data)
    emb = torch.tensor(embs, dtype=torch.float32)
    counts = collections.Counter(w for c in caps for w in WordTokenizer.words(c))
    words = [w for w, c in counts.most_common(a.max_vocab) if c >= a.min_count and w not in SPECIALS]
    tok = WordTokenizer.build(words, a.max_length)
    cfg = {"width": a.width, "layers": a.layers, "heads": a.heads, "prefix_len": a.prefix_len, "ctx": max(32, a.max_length + 8)}
    print(f"{len(caps)} pairs, dim {emb.shape[1]}, vocab {len(tok.vocab)}", flush=True)
    dec = train(tok, caps, emb, a.noise_variance, a.epochs, a.seed, cfg, a.lr, a.batch, log=lambda s: print(s, flush=True))
    os.makedirs(a.out, exist_ok=True)
    if a.no_cache:
        export(dec, os.path.join(a.out, "decoder.onnx"), len(tok.vocab))
    else:
        export_cached(dec, emb.shape[1], os.path.join(a.out, "decoder.onnx"), os.path.join(a.out, "decoder_step.onnx"))
    with open(os.path.join(a.out, "tokenizer.json"), "w") as f:
        json.dump(tok.to_json(), f)
    d_id = a.id or f"noise-{a.noise_variance:g}"
    entry = decoder_entry(d_id, "decoder.onnx", a.noise_variance, emb.shape[1], len(tok.vocab),
                          f"text-only decoder trained on {len(caps)} captions with noise variance {a.noise_variance:g}")
    if not a.no_cache:
        init, step = cache_specs(dec, len(tok.vocab), emb.shape[1])
        entry.update(init)
        entry["cache"] = {"file": "decoder_step.onnx", **step}
    entry["tokenizer"] = "tokenizer.json"
    entry["training"] = {**cfg, "epochs": a.epochs, "lr": a.lr, "batch": a.batch, "seed": a.seed, "pairs": len(caps),
                         "params": sum(p.numel() for p in dec.parameters()), "seconds": round(time.time() - t0, 1)}
    with open(os.path.join(a.out, "decoder.json"), "w") as f:
        json.dump(entry, f, indent=2)
    print(json.dumps({"out": a.out, "seconds": entry["training"]["seconds"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
