#!/usr/bin/python3
"""Train a noise-injected (CapDec-style) prefix-tokens caption decoder for ANY CLIP, from text alone.

For a pack (e.g. the photo pack), from the pack's own embedded corpus, with the pack's tokenizer:

  npm run cli -- export-corpus --pack PACK_DIR --out corpus.jsonl      # {caption, ids, embedding} per datastore row
  /usr/bin/python3 tools/modelkit/train_decoder.py --pack PACK_DIR --data corpus.jsonl --out BUNDLE_DIR \
      --device cuda --width 768 --layers 4 --heads 12 --prefix-len 1 --epochs 10 --batch 128 --lr 2e-4    # a GPU machine
  /usr/bin/python3 tools/modelkit/add_decoder.py --pack PACK_DIR --decoder BUNDLE_DIR --default

The bundle (decoder.json with the tokenizer's sha256, training details and provenance, decoder.onnx,
decoder_step.onnx; no tokenizer of its own) is what add_decoder.py installs. The export is checked: torch cached
== uncached and onnxruntime == torch (max |diff| in decoder.json, refused above 1e-4 · max(1, max |output|): decoder_cache.py
[Note: export tolerance]). No caption quality of a
decoder trained this way on real CLIP weights has been measured here.

Without --pack (the older, word-tokenizer mode):

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
from models import BOS, SPECIALS, Decoder, WordTokenizer  # noqa: E402


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


def train(tok: WordTokenizer | None, captions: list[str], emb: torch.Tensor, sigma2: float, epochs: int, seed: int, cfg: dict,
          lr: float = 1e-3, batch: int = 256, log=print, data: tuple | None = None, vocab: int | None = None,
          device: str = "cpu", max_steps: int | None = None) -> Decoder:
    """Train a Decoder on (caption, text embedding) pairs with noise variance sigma2 (bf16 autocast, 1 thread on
    CPU). `data` = (ids, mask) tensors already tokenized (then `vocab` is the tokenizer's size, `tok` unused);
    `max_steps` stops early (the cosine schedule spans the steps actually run)."""
    torch.manual_seed(seed)
    V = vocab if data is not None else len(tok.vocab)
    dec = Decoder(V, emb.shape[1], cfg["width"], cfg["layers"], cfg["heads"], cfg["prefix_len"], cfg["ctx"]).to(device)
    ids_all, mask_all = data if data is not None else tok.batch(captions)
    x_all = F.normalize(emb.float(), dim=-1)
    N = len(captions)
    bs = min(batch, N)
    steps_per = max(1, N // bs)
    total = steps_per * epochs if max_steps is None else min(steps_per * epochs, max_steps)
    opt = torch.optim.AdamW(param_groups(dec, 0.01), lr=lr, betas=(0.9, 0.98))
    g = torch.Generator().manual_seed(seed)
    sigma = math.sqrt(sigma2)
    step = 0
    dec.train()
    for ep in range(epochs):
        perm = torch.randperm(N, generator=g)
        tl, n = 0.0, 0
        for b in range(steps_per):
            if step >= total:
                break
            idx = perm[b * bs : (b + 1) * bs]
            x = x_all[idx]
            if sigma > 0:
                x = F.normalize(x + sigma * torch.randn(x.shape, generator=g), dim=-1)
            ids, mask = ids_all[idx], mask_all[idx]
            T = int(mask.sum(1).max())
            ids, mask = ids[:, :T], mask[:, :T]
            inp, tgt = ids[:, :-1], ids[:, 1:].clone()
            tgt[mask[:, 1:] == 0] = -100  # padding (the word tokenizer's PAD; any id for a pack tokenizer)
            x, inp, tgt = x.to(device), inp.to(device), tgt.to(device)
            for gr in opt.param_groups:
                gr["lr"] = cosine_lr(step, total, lr, min(200, total // 10 + 1))
            with torch.autocast(device.split(":")[0], dtype=torch.bfloat16):
                logits = dec(x, inp)
            loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=-100)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(dec.parameters(), 1.0)
            opt.step()
            step += 1
            n += 1
            tl += float(loss)
        if n:
            log(f"decoder sigma2={sigma2:.4g} epoch {ep + 1}/{epochs} loss {tl / n:.3f} (step {step}/{total})")
    dec.eval()
    return dec.to("cpu")


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


def read_pairs(path: str, with_ids: bool):
    caps, embs, ids = [], [], []
    want = '{"caption": str, "ids": [ints], "embedding": [floats]}' if with_ids else '{"caption": str, "embedding": [floats]}'
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            if not isinstance(r.get("caption"), str) or not isinstance(r.get("embedding"), list) or (with_ids and not isinstance(r.get("ids"), list)):
                raise SystemExit(f"{path}:{n}: expected {want} (export-corpus writes it)")
            caps.append(r["caption"])
            embs.append(r["embedding"])
            ids.append(r.get("ids"))
    if not caps:
        raise SystemExit("no pairs in " + path)
    return caps, torch.tensor(embs, dtype=torch.float32), ids


def pack_batch(ids_list, max_length: int, tok: dict):
    """[B, T] ids and mask from the pack tokenizer's ids (bos … eos), cut to max_length keeping eos last."""
    T = min(max_length, max(len(x) for x in ids_list))
    ids = torch.zeros(len(ids_list), T, dtype=torch.long)
    mask = torch.zeros(len(ids_list), T, dtype=torch.long)
    for i, x in enumerate(ids_list):
        if len(x) < 2 or x[0] != tok["bos"] or x[-1] != tok["eos"] or not all(0 <= t < tok["vocab"] for t in x):
            raise SystemExit(f"row {i}: ids must run from the pack tokenizer's start ({tok['bos']}) to its end ({tok['eos']}) within its {tok['vocab']} ids")
        x = x if len(x) <= T else x[: T - 1] + [tok["eos"]]
        ids[i, : len(x)] = torch.tensor(x)
        mask[i, : len(x)] = 1
    return ids, mask


def main_pack(a, t0: float) -> int:
    """--pack: the pack's corpus (export-corpus) and tokenizer; writes the bundle add_decoder.py installs."""
    from add_decoder import read_json, tokenizer_info
    from decoder_cache import check_cached, check_fails
    pack = read_json(os.path.join(a.pack, "pack.json"))
    tok = tokenizer_info(a.pack, pack)
    caps, emb, ids_list = read_pairs(a.data, True)
    if emb.shape[1] != pack.get("embedDim"):
        raise SystemExit(f"the corpus embeddings are {emb.shape[1]}-d, the pack's {pack.get('embedDim')}-d")
    data = pack_batch(ids_list, a.max_length, tok)
    cfg = {"width": a.width, "layers": a.layers, "heads": a.heads, "prefix_len": a.prefix_len, "ctx": max(32, a.max_length + 8)}
    print(f"{len(caps)} captions of pack {pack.get('id')}, dim {emb.shape[1]}, vocabulary {tok['vocab']}, device {a.device}", flush=True)
    dec = train(None, caps, emb, a.noise_variance, a.epochs, a.seed, cfg, a.lr, a.batch, log=lambda s: print(s, flush=True),
                data=data, vocab=tok["vocab"], device=a.device, max_steps=a.max_steps)
    os.makedirs(a.out, exist_ok=True)
    init_path, step_path = os.path.join(a.out, "decoder.onnx"), os.path.join(a.out, "decoder_step.onnx")
    export_cached(dec, emb.shape[1], init_path, step_path)
    check = check_cached(dec, emb.shape[1], init_path, step_path, tok["bos"], tok["vocab"])
    why = check_fails(check)
    if why:
        raise SystemExit(f"the exported decoder differs from the torch module: {why}: {check}")
    d_id = a.id or f"noise-{a.noise_variance:g}"
    entry = decoder_entry(d_id, "decoder.onnx", a.noise_variance, emb.shape[1], tok["vocab"],
                          f"text-only decoder trained here on {len(caps)} captions of the pack's corpus with CapDec noise σ² = {a.noise_variance:g}")
    init, step = cache_specs(dec, tok["vocab"], emb.shape[1])
    entry.update(init)
    entry["cache"] = {"file": "decoder_step.onnx", **step}
    entry["tokenizer"] = tok
    entry["provenance"] = {"method": "noise-injected text-only decoder (CapDec/MacCap noise)", "trainedBy": "tools/modelkit/train_decoder.py --pack",
                           "corpus": {"pack": pack.get("id"), "version": pack.get("version"), "rows": len(caps)}, "licence": pack.get("licence"), "check": check}
    entry["training"] = {**cfg, "epochs": a.epochs, "maxSteps": a.max_steps, "lr": a.lr, "batch": a.batch, "seed": a.seed, "pairs": len(caps),
                         "device": a.device, "params": sum(p.numel() for p in dec.parameters()), "seconds": round(time.time() - t0, 1)}
    entry["defaults"] = {"memoryProjection": False, "noiseSamples": 8}
    with open(os.path.join(a.out, "decoder.json"), "w", encoding="utf-8") as f:
        json.dump(entry, f, indent=2, ensure_ascii=False)
    print(json.dumps({"out": a.out, "seconds": entry["training"]["seconds"], "check": check}))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help='JSONL of {"caption": str, "embedding": [floats]} (with --pack also "ids": export-corpus)')
    ap.add_argument("--out", required=True)
    ap.add_argument("--pack", default=None, help="train for this pack: its tokenizer's ids, a bundle for add_decoder.py")
    ap.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N")
    ap.add_argument("--max-steps", type=int, default=None, help="stop after N optimizer steps")
    ap.add_argument("--noise-variance", type=float, default=0.016)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--prefix-len", type=int, default=4)
    ap.add_argument("--max-length", type=int, default=24, help="tokens per caption (bos + words + eos)")
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
    if a.pack:
        return main_pack(a, t0)
    caps, emb, _ = read_pairs(a.data, False)
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
