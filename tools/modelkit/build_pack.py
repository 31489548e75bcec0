#!/usr/bin/python3
"""Rebuild the bundled `shapes-demo` pack from nothing:

    nice -n 5 /usr/bin/python3 tools/modelkit/build_pack.py            # full pack  -> models/shapes-demo/
    nice -n 5 /usr/bin/python3 tools/modelkit/build_pack.py --quick    # format preview (small data)

Stages: data (ShapesWorld scenes + 64 px pixels), clip (contrastive training), embed (fp32 embeddings),
gap + retrieval + realignment, decoders (three noise levels, text only), export (ONNX, checked against torch
in onnxruntime-node), eval (val: choose defaults; test, test-heldout: metrics), pack (arrays, json, samples,
pack.json with hashes). Deterministic: fixed seeds, torch.manual_seed per stage, one thread.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import metrics as M  # noqa: E402
import shapesworld as sw  # noqa: E402
import train_decoder as TD  # noqa: E402
from models import BOS, EOS, ImageExport, TinyCLIP, WordTokenizer, fast_fp32  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
torch.set_num_threads(1)

FULL = dict(train=20000, val=1000, test=1000, heldout=1000, clip_epochs=8, dec_epochs=3, datastore_cap=4000)
QUICK = dict(train=4000, val=200, test=200, heldout=200, clip_epochs=2, dec_epochs=1, datastore_cap=4000)
CLIP_BATCH = 64
CLIP_LR = 1e-3
CLIP_ALL_CAPTIONS = True  # each image with all 5 captions per step (5x text supervision per image forward)
CLIP_CFG = dict(stem="conv", width=128, image_layers=3, text_layers=2, heads=4, dim=128)
DEC_CFG = dict(width=128, layers=2, heads=4, prefix_len=4, ctx=32)
SEEDS = dict(world=1, clip=11, decoder=21, realign=31, eval=41)
PAPER_SIGMA2 = 0.016
MAX_LEN = 20
NOISE_SAMPLES = 8
TIMES: dict = {}


def log(*a):
    print(f"[{time.strftime('%H:%M:%S')}]", *a, flush=True)


class Stage:
    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.t = time.time()
        log(f"== {self.name}")

    def __exit__(self, *a):
        TIMES[self.name] = round(time.time() - self.t, 1)
        log(f"== {self.name} done in {TIMES[self.name]} s")


# ----------------------------------------------------------------------------------------------------------
# data


def load_split(split, count, seed, work):
    path = os.path.join(work, f"{split}_{count}_{seed}.npz")
    scenes_path = os.path.join(work, f"{split}_{count}_{seed}.json")
    if os.path.exists(path) and os.path.exists(scenes_path):
        return json.load(open(scenes_path)), np.load(path)["pixels"]
    scenes = sw.generate_scenes(split, count, seed)
    pixels = np.stack([sw.render(s, 64) for s in scenes])
    np.savez(path, pixels=pixels)
    json.dump(scenes, open(scenes_path, "w"))
    return scenes, pixels


def to_input(pixels_u8, mean, std):
    x = torch.from_numpy(pixels_u8).float().div_(255.0)
    x = (x - torch.tensor(mean)) / torch.tensor(std)
    return x.permute(0, 3, 1, 2).contiguous()


# ----------------------------------------------------------------------------------------------------------
# training


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


def train_clip(train_scenes, train_px, tok, mean, std, epochs, seed):
    torch.manual_seed(seed)
    model = TinyCLIP(len(tok.vocab), CLIP_CFG)
    N = len(train_scenes)
    caps = [s["captions"] for s in train_scenes]
    flat = [c for cs in caps for c in cs]
    ids_all, mask_all = tok.batch(flat)
    ids_all = ids_all.view(N, 5, -1)
    mask_all = mask_all.view(N, 5, -1)
    bs = CLIP_BATCH
    steps_per = N // bs
    total = steps_per * epochs
    groups = param_groups(model, 0.05)
    for gr in groups:
        gr["params"] = [p for p in gr["params"] if p is not model.logit_scale]
        gr["lr_mult"] = 1.0
    groups.append({"params": [model.logit_scale], "weight_decay": 0.0, "lr_mult": 10.0})
    opt = torch.optim.AdamW(groups, lr=CLIP_LR, betas=(0.9, 0.98), eps=1e-6)
    g = torch.Generator().manual_seed(seed)
    step = 0
    model.train()
    for ep in range(epochs):
        perm = torch.randperm(N, generator=g)
        ci = torch.randint(0, 5, (N,), generator=g)
        tl = 0.0
        for b in range(steps_per):
            idx = perm[b * bs : (b + 1) * bs]
            px = to_input(train_px[idx.numpy()], mean, std)
            # light augmentation: random horizontal flip is NOT used (it would break left/right captions)
            if CLIP_ALL_CAPTIONS:
                ids = ids_all[idx].reshape(len(idx) * 5, -1)
                mask = mask_all[idx].reshape(len(idx) * 5, -1)
            else:
                ids = ids_all[idx, ci[idx]]
                mask = mask_all[idx, ci[idx]]
            T = int(mask.sum(1).max())
            for gr in opt.param_groups:
                gr["lr"] = gr["lr_mult"] * cosine_lr(step, total, CLIP_LR, min(200, total // 10 + 1))
            with torch.autocast("cpu", dtype=torch.bfloat16):
                if CLIP_ALL_CAPTIONS:
                    loss = model.loss_multi(px, ids[:, :T], mask[:, :T], 5)
                else:
                    loss = model.loss(px, ids[:, :T], mask[:, :T])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            tl += float(loss)
        log(f"clip epoch {ep + 1}/{epochs} loss {tl / steps_per:.3f} scale {float(model.logit_scale.exp()):.1f}")
    model.eval()
    return model


@torch.no_grad()
def embed_images(model, px, mean, std, bs=250):
    outs = [[], [], []]
    with fast_fp32():
        for i in range(0, len(px), bs):
            e, t, a = model.visual(to_input(px[i : i + bs], mean, std))
            outs[0].append(e)
            outs[1].append(t)
            outs[2].append(a)
    return [torch.cat(o) for o in outs]


@torch.no_grad()
def embed_texts(model, tok, texts, bs=500):
    out = []
    with fast_fp32():
        for i in range(0, len(texts), bs):
            ids, mask = tok.batch(texts[i : i + bs])
            out.append(model.text(ids, mask))
    return torch.cat(out) if out else torch.zeros(0, CLIP_CFG["dim"])


def train_decoder(tok, captions, cap_emb, sigma2, epochs, seed):
    """captions: list of training captions (with repeats); cap_emb: [len(captions), D] text embeddings."""
    return TD.train(tok, captions, cap_emb, sigma2, epochs, seed, DEC_CFG, lr=1e-3, batch=256, log=log)


@torch.no_grad()
def greedy(dec, tok, prefix, max_len=MAX_LEN, bs=1000):
    """Greedy decode from L2-normalised prefixes [B,D] (fp32). Returns list of strings."""
    out = []
    with fast_fp32():
        for i in range(0, len(prefix), bs):
            p = prefix[i : i + bs].float()
            B = len(p)
            ids = torch.full((B, 1), BOS, dtype=torch.long)
            done = torch.zeros(B, dtype=torch.bool)
            gen = torch.full((B, max_len), EOS, dtype=torch.long)
            for t in range(max_len):
                act = (~done).nonzero().squeeze(1)
                if len(act) == 0:
                    break
                logits = dec(p[act], ids[act])[:, -1]
                nxt = logits.argmax(-1)
                gen[act, t] = nxt
                done[act[nxt == EOS]] = True
                ids = torch.cat([ids, gen[:, t : t + 1]], dim=1)
            out.extend(tok.decode(r.tolist()) for r in gen)
    return out


# ----------------------------------------------------------------------------------------------------------
# statistics


def gap_stats(img_n, txt_n):
    d = (img_n - txt_n).double()
    mean = d.mean(0)
    r = d - mean
    std = r.std(0, unbiased=False)
    z = r / std.clamp(min=1e-12)
    skew = (z**3).mean(0)
    kurt = (z**4).mean(0) - 3.0
    return {
        "mean": mean.float(),
        "std": std.float(),
        "summary": {
            "pairs": int(len(d)),
            "gapNorm": float(mean.norm()),
            "meanCosine": float((img_n * txt_n).sum(1).mean()),
            "residualVarianceMean": float((std**2).mean()),
            "residualStdMean": float(std.mean()),
            "residualStdMin": float(std.min()),
            "residualStdMax": float(std.max()),
            "skewAbsMean": float(skew.abs().mean()),
            "skewAbsMax": float(skew.abs().max()),
            "excessKurtosisMean": float(kurt.mean()),
            "excessKurtosisMedian": float(kurt.median()),
            "excessKurtosisMax": float(kurt.max()),
            "note": "per-dimension residuals r = (img_n - txt_n) - mean; skew and excess kurtosis per dimension, summarised (0 and 0 for a Gaussian)",
        },
    }


def retrieval(img_n, txt_n, owner, scenes, texts):
    """img_n [N,D]; txt_n [M,D] with owner[m] = image index. Also i2t R@1 counting any caption true of the image."""
    sim = img_n @ txt_n.t()
    owner = torch.tensor(owner)
    top = sim.topk(5, dim=1).indices
    hit = owner[top] == torch.arange(len(img_n))[:, None]
    i2t1 = float(hit[:, :1].any(1).float().mean())
    i2t5 = float(hit.any(1).float().mean())
    true1 = float(np.mean([sw.caption_is_true(texts[int(top[i, 0])], scenes[i]) for i in range(len(img_n))]))
    topi = sim.t().topk(5, dim=1).indices
    hit2 = topi == owner[:, None]
    return {"i2t_R@1": i2t1, "i2t_R@5": i2t5, "t2i_R@1": float(hit2[:, :1].any(1).float().mean()),
            "t2i_R@5": float(hit2.any(1).float().mean()), "i2t_R@1_anyTrue": true1,
            "images": int(len(img_n)), "captions": int(len(txt_n))}


def fit_procrustes(X, Y):
    U, _, Vt = torch.linalg.svd((X.t() @ Y).double())
    return (U @ Vt).float()


def fit_ridge(X, Y, lam):
    X, Y = X.double(), Y.double()
    A = X.t() @ X + lam * torch.eye(X.shape[1], dtype=torch.float64)
    return torch.linalg.solve(A, X.t() @ Y).float()


def apply_w(x_n, W):
    return F.normalize(x_n @ W, dim=-1)


def patch_route(g, tokens, attn, top_k=10, weight=1.0):
    """MacCap subregion aggregation as the engine's `patch` route (src/main/engine/regions.ts)."""
    T_n = F.normalize(tokens, dim=-1)
    a = attn[:, 0]  # [B, T]
    sel = a.topk(top_k, dim=1).indices  # [B,k]
    w = torch.softmax(torch.gather(attn, 1, sel[:, :, None].expand(-1, -1, attn.shape[2])), dim=-1)  # [B,k,T]
    s_i = F.normalize(torch.einsum("bkt,btd->bkd", w, T_n), dim=-1)
    alpha = torch.gather(a, 1, sel)
    alpha = alpha / alpha.sum(1, keepdim=True)
    s = F.normalize((alpha[:, :, None] * s_i).sum(1), dim=-1)
    return F.normalize(F.normalize(g, dim=-1) + weight * s, dim=-1)


def score(caps, scenes, extra=None):
    hyps = {s["file_name"]: c for s, c in zip(scenes, caps)}
    refs = {s["file_name"]: s["captions"] for s in scenes}
    c, _ = M.cider_d(hyps, refs)
    r = {"CIDEr-D": round(c, 4), "BLEU-4": round(M.bleu4(hyps, refs), 4),
         "truth": round(float(np.mean([sw.caption_is_true(h, s) for h, s in zip(caps, scenes)])), 4)}
    held = [s for s in scenes if any((o["colour"], o["shape"]) in sw.HELDOUT_SET for o in s["objects"])]
    if held:
        # share of images where a caption names a held-out pair that is in the image (and is true)
        named = [any(p in sw.HELDOUT_SET and any((o["colour"], o["shape"]) == p for o in s["objects"]) for p in sw.named_pairs(h))
                 and sw.caption_is_true(h, s) for h, s in zip(caps, scenes)]
        r["heldoutPairNamed"] = round(float(np.mean(named)), 4)
    if extra:
        r.update(extra)
    return r


# ----------------------------------------------------------------------------------------------------------
# ONNX export + check in onnxruntime-node


def export_onnx(clip, decoders, outdir, work):
    os.makedirs(outdir, exist_ok=True)
    clip.eval()
    img_ex = ImageExport(clip.visual)
    px = torch.randn(3, 3, 64, 64)
    torch.onnx.export(img_ex, (px,), os.path.join(outdir, "image_encoder.onnx"), input_names=["pixel_values"],
                      output_names=["image_embeds", "token_embeds", "cls_attention"], opset_version=14,
                      dynamic_axes={"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}, "token_embeds": {0: "batch"}, "cls_attention": {0: "batch"}})

    class TextEx(torch.nn.Module):
        def __init__(s, t):
            super().__init__()
            s.t = t

        def forward(s, input_ids, attention_mask):
            return s.t(input_ids, attention_mask)

    ids = torch.tensor([[1, 5, 6, 2, 0], [1, 7, 8, 9, 2]])
    mask = (ids != 0).long()
    mask[:, 0] = 1
    torch.onnx.export(TextEx(clip.text), (ids, mask), os.path.join(outdir, "text_encoder.onnx"), input_names=["input_ids", "attention_mask"],
                      output_names=["text_embeds"], opset_version=14,
                      dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}, "text_embeds": {0: "batch"}})
    for d_id, (dec, fname) in decoders.items():
        p = F.normalize(torch.randn(2, CLIP_CFG["dim"]), dim=-1)
        torch.onnx.export(dec, (p, torch.tensor([[1, 5, 6], [1, 7, 8]])), os.path.join(outdir, fname), input_names=["prefix", "input_ids"],
                          output_names=["logits"], opset_version=14,
                          dynamic_axes={"prefix": {0: "batch"}, "input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}})


def check_onnx(clip, decoders, outdir, work, tok, sample_px, mean, std):
    """Run every exported model in onnxruntime-node on fresh inputs and compare with torch fp32."""
    cdir = os.path.join(work, "onnx_check")
    os.makedirs(cdir, exist_ok=True)
    cases = []

    def save(name, t):
        path = os.path.join(cdir, name + ".bin")
        arr = t.detach().numpy()
        arr.astype(np.int64 if arr.dtype == np.int64 else np.float32).tofile(path)
        return {"file": path, "shape": list(arr.shape), "dtype": "int64" if arr.dtype == np.int64 else "float32"}

    with torch.no_grad():
        px = to_input(sample_px[:5], mean, std)
        e, t, a = clip.visual(px)
        cases.append({"model": os.path.join(outdir, "image_encoder.onnx"), "inputs": {"pixel_values": save("px", px)},
                      "outputs": {"image_embeds": save("ie", e), "token_embeds": save("te", t), "cls_attention": save("ca", a)}})
        ids, mask = tok.batch(["a red square", "a large blue circle to the left of an orange star", "two shapes on a gray background"])
        te = clip.text(ids, mask)
        cases.append({"model": os.path.join(outdir, "text_encoder.onnx"), "inputs": {"input_ids": save("ids", ids), "attention_mask": save("mask", mask)},
                      "outputs": {"text_embeds": save("txe", te)}})
        for d_id, (dec, fname) in decoders.items():
            p = F.normalize(torch.randn(4, CLIP_CFG["dim"], generator=torch.Generator().manual_seed(5)), dim=-1)
            for T in (1, 7):
                ii = torch.randint(4, len(tok.vocab), (4, T), generator=torch.Generator().manual_seed(T))
                ii[:, 0] = BOS
                lg = dec(p, ii)
                cases.append({"model": os.path.join(outdir, fname), "inputs": {"prefix": save(f"p_{d_id}_{T}", p), "input_ids": save(f"i_{d_id}_{T}", ii)},
                              "outputs": {"logits": save(f"l_{d_id}_{T}", lg)}})
    spec = os.path.join(cdir, "cases.json")
    json.dump(cases, open(spec, "w"))
    res = subprocess.run(["node", os.path.join(HERE, "check_onnx.cjs"), spec], capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError("onnx check failed:\n" + res.stdout + res.stderr)
    out = json.loads(res.stdout.strip().splitlines()[-1])
    worst = max(c["maxAbsDiff"] for c in out)
    log(f"onnxruntime-node vs torch: worst max|diff| = {worst:.2e}")
    if worst > 1e-4:
        raise RuntimeError(f"ONNX outputs differ from torch by {worst}")
    return worst


# ----------------------------------------------------------------------------------------------------------


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def git_commit():
    try:
        return subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip() or None
    except Exception:
        return None


def kit_dirty():
    """True when tools/modelkit has uncommitted changes (the recorded commit then does not fully describe the tool)."""
    try:
        out = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "tools/modelkit"], capture_output=True, text=True).stdout
        return bool(out.strip())
    except Exception:
        return None


def write_f32(path, t):
    np.ascontiguousarray(t.detach().numpy(), dtype="<f4").tofile(path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small data, few epochs (format preview)")
    ap.add_argument("--out", default=os.path.join(REPO, "models", "shapes-demo"))
    ap.add_argument("--work", default=os.path.join(HERE, "work"))
    a = ap.parse_args(argv)
    C = QUICK if a.quick else FULL
    t_all = time.time()
    work = os.path.join(a.work, "quick" if a.quick else "full")
    os.makedirs(work, exist_ok=True)
    seed = SEEDS["world"]
    tok = WordTokenizer.build(sw.GRAMMAR_WORDS, 24)

    with Stage("data"):
        tr_sc, tr_px = load_split("train", C["train"], seed, a.work)
        va_sc, va_px = load_split("val", C["val"], seed, a.work)
        te_sc, te_px = load_split("test", C["test"], seed, a.work)
        ho_sc, ho_px = load_split("test-heldout", C["heldout"], seed, a.work)
        sub = tr_px[:2000].reshape(-1, 3).astype(np.float64) / 255.0
        mean = [round(float(v), 4) for v in sub.mean(0)]
        std = [round(float(v), 4) for v in sub.std(0)]
        log("pixel mean", mean, "std", std)

    with Stage("clip"):
        clip = train_clip(tr_sc, tr_px, tok, mean, std, C["clip_epochs"], SEEDS["clip"])
        torch.save(clip.state_dict(), os.path.join(work, "clip.pt"))

    with Stage("embed"):
        emb = {}
        for name, sc, px in (("val", va_sc, va_px), ("test", te_sc, te_px), ("test-heldout", ho_sc, ho_px), ("train-gap", tr_sc[:2000], tr_px[:2000])):
            g, t, att = embed_images(clip, px, mean, std)
            caps = [c for s in sc for c in s["captions"]]
            emb[name] = {"img": g, "tok": t, "att": att, "img_n": F.normalize(g, dim=-1), "caps": caps,
                         "txt_n": F.normalize(embed_texts(clip, tok, caps), dim=-1), "owner": [i for i in range(len(sc)) for _ in range(5)]}
        train_caps = [c for s in tr_sc for c in s["captions"]]
        uniq = list(dict.fromkeys(train_caps))
        uniq_emb = embed_texts(clip, tok, uniq)
        uidx = {c: i for i, c in enumerate(uniq)}
        log(f"{len(train_caps)} training captions, {len(uniq)} unique")

    with Stage("gap+retrieval+realign"):
        e = emb["train-gap"]
        own = torch.tensor(e["owner"])
        gs = gap_stats(e["img_n"][own], e["txt_n"])
        gap_var = gs["summary"]["residualVarianceMean"]
        e2 = emb["test"]
        gs_test = gap_stats(e2["img_n"][torch.tensor(e2["owner"])], e2["txt_n"])
        log("gap (train pairs)", json.dumps(gs["summary"]))
        retr = {k: retrieval(emb[k]["img_n"], emb[k]["txt_n"], emb[k]["owner"], sc, emb[k]["caps"]) for k, sc in (("test", te_sc), ("test-heldout", ho_sc))}
        log("retrieval", json.dumps(retr))
        # realignment on 500 training pairs (one random caption of each of the first 500 training images)
        rg = np.random.default_rng(SEEDS["realign"])
        n_pairs = min(500, len(tr_sc))
        pick = rg.integers(0, 5, n_pairs)
        X = emb["train-gap"]["img_n"][:n_pairs] if n_pairs <= 2000 else None
        Y = F.normalize(uniq_emb[[uidx[tr_sc[i]["captions"][int(pick[i])]] for i in range(n_pairs)]], dim=-1)
        W_pro = fit_procrustes(X, Y)
        ev = emb["val"]
        val_txt_mean = ev["txt_n"].view(len(va_sc), 5, -1)

        def val_cos(W):
            return float((apply_w(ev["img_n"], W)[:, None, :] * val_txt_mean).sum(-1).mean())

        lam_grid = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]
        lam_scores = {lam: val_cos(fit_ridge(X, Y, lam)) for lam in lam_grid}
        lam = max(lam_grid, key=lambda k: lam_scores[k])
        W_ridge = fit_ridge(X, Y, lam)
        realign_info = {"pairs": n_pairs, "ridgeLambda": lam, "ridgeLambdaGrid": lam_grid,
                        "valMeanCosineByLambda": {str(k): round(v, 4) for k, v in lam_scores.items()},
                        "valMeanCosine": {"off": round(val_cos(torch.eye(CLIP_CFG["dim"])), 4), "procrustes": round(val_cos(W_pro), 4), "ridge": round(val_cos(W_ridge), 4)},
                        "criterion": "mean cosine between the realigned val image embedding and its 5 reference caption embeddings"}
        log("realign", json.dumps(realign_info))

    dec_specs = [("noise-0", 0.0, "decoder_noise_0.onnx"), ("noise-0.016", PAPER_SIGMA2, "decoder_noise_0.016.onnx"),
                 ("noise-gap", round(gap_var, 5), "decoder_noise_gap.onnx")]
    decoders = {}
    with Stage("decoders"):
        cap_emb = uniq_emb[[uidx[c] for c in train_caps]]
        for i, (d_id, s2, fname) in enumerate(dec_specs):
            t0 = time.time()
            decoders[d_id] = (train_decoder(tok, train_caps, cap_emb, s2, C["dec_epochs"], SEEDS["decoder"]), fname)
            TIMES[f"decoder {d_id}"] = round(time.time() - t0, 1)

    tmp_out = a.out + ".tmp"
    if os.path.exists(tmp_out):
        shutil.rmtree(tmp_out)
    os.makedirs(tmp_out)
    with Stage("export"):
        export_onnx(clip, decoders, tmp_out, work)
        onnx_diff = check_onnx(clip, decoders, tmp_out, work, tok, te_px, mean, std)

    # ---------------------------------------------------------------- evaluation
    gen = torch.Generator().manual_seed(SEEDS["eval"])
    ds_caps = uniq[: C["datastore_cap"]]
    ds_n = F.normalize(uniq_emb[: C["datastore_cap"]], dim=-1)
    text_cache: dict = {}

    def text_n(caps):
        miss = [c for c in dict.fromkeys(caps) if c not in text_cache]
        if miss:
            for c, v in zip(miss, F.normalize(embed_texts(clip, tok, miss), dim=-1)):
                text_cache[c] = v
        return torch.stack([text_cache[c] for c in caps])

    def noise_rerank(dec, prefix_n, score_n, sigma2, k=NOISE_SAMPLES):
        B, D = prefix_n.shape
        noisy = F.normalize(prefix_n[:, None, :] + math.sqrt(sigma2) * torch.randn(B, k, D, generator=gen), dim=-1).reshape(B * k, D)
        cands = greedy(dec, tok, noisy)
        tn = text_n(cands).view(B, k, D)
        best = (tn * score_n[:, None, :]).sum(-1).argmax(1)
        return [cands[i * k + int(best[i])] for i in range(B)]

    def run_configs(split, scenes, configs):
        e = emb[split]
        img_n = e["img_n"]
        res = {}
        for name in configs:
            t0 = time.time()
            if name.startswith("plain:"):
                caps = greedy(decoders[name[6:]][0], tok, img_n)
            elif name.startswith("rerank:"):
                d_id = name[7:]
                caps = noise_rerank(decoders[d_id][0], img_n, img_n, dict((x[0], x[1]) for x in dec_specs)[d_id] or PAPER_SIGMA2)
            elif name.startswith("ridge+rerank:"):
                d_id = name[13:]
                caps = noise_rerank(decoders[d_id][0], apply_w(img_n, W_ridge), img_n, dict((x[0], x[1]) for x in dec_specs)[d_id] or PAPER_SIGMA2)
            elif name.startswith("procrustes+rerank:"):
                d_id = name[18:]
                caps = noise_rerank(decoders[d_id][0], apply_w(img_n, W_pro), img_n, dict((x[0], x[1]) for x in dec_specs)[d_id] or PAPER_SIGMA2)
            elif name.startswith("ridge:"):
                caps = greedy(decoders[name[6:]][0], tok, apply_w(img_n, W_ridge))
            elif name.startswith("procrustes:"):
                caps = greedy(decoders[name[11:]][0], tok, apply_w(img_n, W_pro))
            elif name.startswith("patch:"):
                caps = greedy(decoders[name[6:]][0], tok, patch_route(e["img"], e["tok"], e["att"]))
            elif name.startswith("textref:"):
                caps = greedy(decoders[name[8:]][0], tok, e["txt_n"][::5])
            elif name == "retrieval":
                caps = [ds_caps[int(i)] for i in (img_n @ ds_n.t()).argmax(1)]
            elif name == "retrieval+ridge":
                caps = [ds_caps[int(i)] for i in (apply_w(img_n, W_ridge) @ ds_n.t()).argmax(1)]
            elif name == "grammar":
                rr = np.random.default_rng(SEEDS["eval"])
                caps = [sw.make_captions(rr, s, 1)[0] for s in scenes]
            else:
                raise KeyError(name)
            res[name] = score(caps, scenes)
            res[name]["example"] = caps[0]
            log(f"{split:13s} {name:28s} {json.dumps(res[name])}  ({time.time() - t0:.1f} s)")
        return res

    ids = [d[0] for d in dec_specs]
    with Stage("eval-val"):
        val_res = run_configs("val", va_sc, [f"plain:{d}" for d in ids])
        best_c = max(val_res[f"plain:{d}"]["CIDEr-D"] for d in ids)
        best_t = max(val_res[f"plain:{d}"]["truth"] for d in ids)
        combined = {d: val_res[f"plain:{d}"]["CIDEr-D"] / best_c + val_res[f"plain:{d}"]["truth"] / best_t for d in ids}
        default_dec = max(ids, key=lambda d: (round(combined[d], 6), val_res[f"plain:{d}"]["truth"]))
        val_res.update(run_configs("val", va_sc, [f"rerank:{default_dec}", f"ridge:{default_dec}", f"procrustes:{default_dec}",
                                                  f"ridge+rerank:{default_dec}", f"procrustes+rerank:{default_dec}", f"patch:{default_dec}"]))
        log("default decoder", default_dec, combined)

    def both(cfgs):
        return cfgs(default_dec)

    test_cfgs = [f"plain:{d}" for d in ids] + [f"rerank:{d}" for d in ids[1:]] + [f"ridge:{d}" for d in ids] + \
        [f"ridge+rerank:{d}" for d in ids[1:]] + [f"procrustes:{default_dec}", f"procrustes+rerank:{default_dec}", f"patch:{default_dec}",
                                                 "retrieval", "retrieval+ridge", f"textref:{default_dec}", "grammar"]
    with Stage("eval-test"):
        test_res = run_configs("test", te_sc, test_cfgs)
    with Stage("eval-heldout"):
        ho_res = run_configs("test-heldout", ho_sc, test_cfgs)

    # defaults chosen on val
    v = val_res
    align = max(["off", "ridge", "procrustes"], key=lambda m: v[f"plain:{default_dec}" if m == "off" else f"{m}:{default_dec}"]["CIDEr-D"])
    rerank_key = f"rerank:{default_dec}" if align == "off" else f"{align}+rerank:{default_dec}"
    plain_key = f"plain:{default_dec}" if align == "off" else f"{align}:{default_dec}"
    use_rerank = v[rerank_key]["CIDEr-D"] > v[plain_key]["CIDEr-D"]
    use_patch = v[f"patch:{default_dec}"]["CIDEr-D"] > v[f"plain:{default_dec}"]["CIDEr-D"]
    default_sigma2 = dict((x[0], x[1]) for x in dec_specs)[default_dec] or PAPER_SIGMA2

    # ---------------------------------------------------------------- pack files
    with Stage("pack"):
        out = tmp_out
        json.dump(tok.to_json(), open(os.path.join(out, "tokenizer.json"), "w"), indent=1)
        write_f32(os.path.join(out, "datastore.f32"), ds_n)
        json.dump(ds_caps, open(os.path.join(out, "datastore_captions.json"), "w"), indent=0)
        concepts = [(w, "colour") for w in sw.COLOURS] + [(w, "shape") for w in sw.SHAPES] + [(w, "size") for w in sw.SIZES] + \
                   [(w, "background") for w in sw.BACKGROUNDS] + [(w, "count") for w in ("one", "two", "three")]
        templates = {"colour": "a {w} shape", "shape": "a {w}", "size": "a {w} shape", "background": "one shape on a {w} background", "count": "{w} shapes"}
        prompts = [templates[c].format(w=w).replace("one shapes", "one shape") for w, c in concepts]
        c_emb = F.normalize(embed_texts(clip, tok, prompts), dim=-1)
        write_f32(os.path.join(out, "concepts.f32"), c_emb)
        json.dump([{"word": w, "category": c, "prompt": p} for (w, c), p in zip(concepts, prompts)], open(os.path.join(out, "concepts.json"), "w"), indent=1)
        write_f32(os.path.join(out, "gap_mean.f32"), gs["mean"])
        write_f32(os.path.join(out, "gap_std.f32"), gs["std"])
        write_f32(os.path.join(out, "realign_procrustes.f32"), W_pro)
        write_f32(os.path.join(out, "realign_ridge.f32"), W_ridge)
        # demo samples: 24 test + 24 test-heldout at 256 px
        sdir = os.path.join(out, "samples")
        os.makedirs(sdir)
        sample_scenes = sw.generate_scenes("test", 24, seed) + sw.generate_scenes("test-heldout", 24, seed)
        for s in sample_scenes:
            Image.fromarray(sw.render(s, 256)).save(os.path.join(sdir, s["file_name"]))
        sw.dump_json(os.path.join(sdir, "scenes.json"), {**sw.scenes_doc(sample_scenes, "test+test-heldout", seed, 256), "split": "samples"})
        sw.dump_json(os.path.join(sdir, "refs.json"), sw.refs_of(sample_scenes), indent=1)
        sw.dump_json(os.path.join(sdir, "refs_coco.json"), sw.coco_of(sample_scenes))

        io_img = {"inputs": [{"name": "pixel_values", "shape": ["batch", 3, 64, 64], "dtype": "float32"}],
                  "outputs": [{"name": "image_embeds", "shape": ["batch", 128], "dtype": "float32"},
                              {"name": "token_embeds", "shape": ["batch", 65, 128], "dtype": "float32"},
                              {"name": "cls_attention", "shape": ["batch", 65, 65], "dtype": "float32"}]}
        dec_io = {"inputs": [{"name": "prefix", "shape": ["batch", 128], "dtype": "float32"}, {"name": "input_ids", "shape": ["batch", "seq"], "dtype": "int64"}],
                  "outputs": [{"name": "logits", "shape": ["batch", "seq", len(tok.vocab)], "dtype": "float32"}]}
        descs = {"noise-0": "trained on clean text embeddings (σ² = 0); the ablation baseline",
                 "noise-0.016": "trained with CapDec noise σ² = 0.016 (the papers' value)",
                 "noise-gap": f"trained with noise at the measured per-dimension residual variance of this CLIP's modality gap (σ² = {dec_specs[2][1]})"}
        n_params = {d: sum(p.numel() for p in decoders[d][0].parameters()) for d in ids}
        pack = {
            "format": "caption-studio-pack/1",
            "id": "shapes-demo",
            "version": "1.0.0" if not a.quick else "0.1.0-quick",
            "licence": "MIT",
            "description": "Tiny CLIP (ViT 64 px, 8x8 patches, 128-d) and text-only noise-injected caption decoders trained on ShapesWorld, "
                           "a procedural world of coloured shapes (tools/modelkit)." + (" QUICK FORMAT PREVIEW: small data, low quality." if a.quick else ""),
            "embedDim": 128,
            "preprocess": {"size": 64, "resize": "shortest-edge", "kernel": "cubic", "mean": mean, "std": std},
            "tokenizer": {"file": "tokenizer.json", "type": "word"},
            "models": {
                "image": {"file": "image_encoder.onnx", "roles": {"pixels": "pixel_values", "embeds": "image_embeds", "tokens": "token_embeds", "attention": "cls_attention"},
                          "patchGrid": [8, 8], **io_img},
                "text": {"file": "text_encoder.onnx", "roles": {"ids": "input_ids", "mask": "attention_mask", "embeds": "text_embeds"},
                         "inputs": [{"name": "input_ids", "shape": ["batch", "seq"], "dtype": "int64"}, {"name": "attention_mask", "shape": ["batch", "seq"], "dtype": "int64"}],
                         "outputs": [{"name": "text_embeds", "shape": ["batch", 128], "dtype": "float32"}]},
            },
            "decoders": [{"id": d, "file": f, "noiseVariance": s2, "kind": "prefix-tokens", "description": descs[d],
                          "roles": {"prefix": "prefix", "ids": "input_ids", "logits": "logits"}, **dec_io} for d, s2, f in dec_specs],
            "defaultDecoder": default_dec,
            "arrays": {
                "datastore": {"file": "datastore.f32", "shape": [len(ds_caps), 128]},
                "concepts": {"file": "concepts.f32", "shape": [len(concepts), 128]},
                "gapMean": {"file": "gap_mean.f32", "shape": [128]},
                "gapStd": {"file": "gap_std.f32", "shape": [128]},
                "realignProcrustes": {"file": "realign_procrustes.f32", "shape": [128, 128]},
                "realignRidge": {"file": "realign_ridge.f32", "shape": [128, 128]},
            },
            "datastore": {"captions": "datastore_captions.json"},
            "concepts": {"file": "concepts.json"},
            "samples": {"dir": "samples", "refs": "samples/refs.json", "coco": "samples/refs_coco.json", "scenes": "samples/scenes.json", "size": 256},
            "defaults": {"regions": "patch" if use_patch else "off", "topK": 10, "patchWeight": 1.0,
                         "noiseSamples": NOISE_SAMPLES if use_rerank else 1, "noiseVariance": default_sigma2, "beam": 1, "maxLength": MAX_LEN,
                         "cleanSample": True, "retrieval": False, "retrievalK": 5, "align": align, "alignPrefix": align != "off",
                         "rerank": bool(use_rerank), "rankBy": "clipS", "conceptTau": 0.01, "conceptTopK": 5},
        }
        files = []
        for root, _, fs in os.walk(out):
            for f in sorted(fs):
                p = os.path.join(root, f)
                rel = os.path.relpath(p, out).replace(os.sep, "/")
                if rel != "pack.json":
                    files.append({"path": rel, "bytes": os.path.getsize(p), "sha256": sha256(p)})
        files.sort(key=lambda x: x["path"])
        pack["files"] = files
        total_bytes = sum(f["bytes"] for f in files)
        TIMES["total"] = round(time.time() - t_all, 1)
        pack["provenance"] = {
            "tool": "tools/modelkit/build_pack.py" + (" --quick" if a.quick else ""),
            "commit": git_commit(),
            "toolDirty": kit_dirty(),
            "torch": torch.__version__,
            "seeds": SEEDS,
            "data": {"world": "ShapesWorld (../shared/specs/shapesworld.md), generator tools/modelkit/shapesworld.py",
                     "trainImages": len(tr_sc), "trainCaptions": len(train_caps), "uniqueTrainCaptions": len(uniq), "val": len(va_sc), "test": len(te_sc),
                     "testHeldout": len(ho_sc), "datastoreRows": len(ds_caps), "gapPairs": gs["summary"]["pairs"], "realignPairs": n_pairs},
            "models": {"clip": {**CLIP_CFG, "patch": 8, "imageSize": 64, "epochs": C["clip_epochs"], "batch": 256,
                                "params": sum(p.numel() for p in clip.parameters()), "logitScale": round(float(clip.logit_scale.exp()), 3)},
                       "decoders": {**DEC_CFG, "epochs": C["dec_epochs"], "batch": 256, "params": n_params}},
            "trainingSeconds": dict(TIMES),
            "onnxMaxAbsDiffVsTorch": onnx_diff,
            "packBytes": total_bytes,
        }
        pack["metrics"] = {
            "note": "measured by tools/modelkit/build_pack.py in Python (fp32 torch = the exported ONNX within 1e-4): greedy decoding "
                    "from the L2-normalised global image embedding unless the key says otherwise. Keys: plain:<decoder> = one decode; "
                    "rerank:<d> = 8 noise samples at the decoder's training variance (0.016 for noise-0) reranked by CLIP cosine with the image; "
                    "ridge:/procrustes: = realigned embedding x·W; patch: = MacCap patch route as the engine's regions 'patch'; "
                    "retrieval = nearest datastore caption; textref:<d> = decoder fed the text embedding of the first reference (upper bound); "
                    "grammar = a fresh caption drawn from the world grammar (oracle). truth = share of captions true of the image; "
                    "heldoutPairNamed = share of images where the caption names a held-out colour-shape pair present in the image and is true.",
            "retrieval": retr,
            "gap": {"train": gs["summary"], "test": gs_test["summary"]},
            "realign": realign_info,
            "defaultChoice": {"decoder": default_dec, "combinedScore": {k: round(v, 4) for k, v in combined.items()},
                              "rule": "max over decoders of CIDEr-D/max CIDEr-D + truth/max truth, plain decode on val; align, rerank and regions "
                                      "defaults chosen on val by CIDEr-D"},
            "checks": {
                "noiseDecoderCiderGainOverSigma0OnTest": {d: round(test_res[f"plain:{d}"]["CIDEr-D"] / test_res["plain:noise-0"]["CIDEr-D"] - 1, 4) for d in ids[1:]},
                "rerankMinusPlainCiderOnTest": {d: round(test_res[f"rerank:{d}"]["CIDEr-D"] - test_res[f"plain:{d}"]["CIDEr-D"], 4) for d in ids[1:]},
                "rerankMinusPlainCiderOnHeldout": {d: round(ho_res[f"rerank:{d}"]["CIDEr-D"] - ho_res[f"plain:{d}"]["CIDEr-D"], 4) for d in ids[1:]},
            },
            "val": val_res,
            "test": test_res,
            "test-heldout": ho_res,
        }
        sw.dump_json(os.path.join(out, "pack.json"), pack, indent=2)
        if os.path.exists(a.out):
            shutil.rmtree(a.out)
        shutil.move(out, a.out)
        log(f"pack written to {a.out}: {len(files)} files, {total_bytes / 1e6:.2f} MB")
    json.dump(TIMES, open(os.path.join(work, "times.json"), "w"), indent=1)
    log("times", json.dumps(TIMES))


if __name__ == "__main__":
    main()
