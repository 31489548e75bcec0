#!/usr/bin/python3
"""Train PCM-Net decoders (pcm_net.py) for a ShapesWorld pack, the way the paper trains them, and export them.

    nice -n 19 /usr/bin/python3 tools/modelkit/train_pcm.py [--pack models/shapes-demo] --out DIR
        [--variants pcm,pcm-no-mixup,pcm-no-cxe,pcm-neither] [--rate 0.3] [--epochs 2] [--top-m 5]

1. Training set: the first `--train` ShapesWorld training scenes, each re-rendered ONCE by the synthetic
   generator (synth_defects.py, defect rate `--rate`) and paired with each of its 5 captions. Clean renders are
   never used. The measured defect rate is written to DIR/pcm_training.json.
2. Features, from the pack's own exported encoders in onnxruntime-node (ort_run.cjs), so training sees exactly
   what the engine computes: image `token_embeds` of the defective renders, text embeddings of the captions.
3. Salient concepts per image: cos(g, concept rows of the pack's `concepts` array), softmax with τ = 0.01,
   top-K (K = 5) — the engine's salientConcepts().
4. Training (per variant): teacher-forced cross-entropy, CapDec noise σ² = 0.016 on the global g (training
   only, §4.3 step 6), mix-up by replacement of the top-M patches (variants with mix-up), each pair's loss
   weighted by c = min(1, 4·cos(g_I, g_S)) (CXE, variants with CLIP weighting; w = 4 as the paper).
   AdamW lr 1e-3, cosine schedule with warm-up, batch 128, bf16 autocast, one thread, `--epochs` passes over
   all pairs.
5. Export (opset 14), checked against torch fp32 in onnxruntime-node (check_onnx.cjs), and a `decoders[]`
   entry of kind `pcm-net` per variant in DIR/pcm_decoders.json (docs/pack-format.md). `--pack-out DIR2`
   also writes a copy of the pack with these decoders added (files and hashes updated), for `npm run eval`.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import shapesworld as sw  # noqa: E402
import synth_defects as sd  # noqa: E402
from kit_export import sha256  # noqa: E402
from models import BOS, PAD, WordTokenizer  # noqa: E402
from pcm_net import TAU, PCMExport, PCMExportVisual, PCMNet  # noqa: E402
from train_decoder import cosine_lr, param_groups  # noqa: E402

torch.set_num_threads(1)
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
VARIANTS = {  # id: (mixup, cxe)
    "pcm": (True, True),
    "pcm-no-mixup": (False, True),
    "pcm-no-cxe": (True, False),
    "pcm-neither": (False, False),
}
SIGMA2_G = 0.016
CXE_W = 4.0
CONCEPT_K = 5


def log(*a):
    print(f"[{time.strftime('%H:%M:%S')}]", *a, flush=True)


def ort_run(model, rows, inputs, outputs, work, name):
    spec = os.path.join(work, f"{name}.spec.json")
    json.dump({"model": model, "rows": rows, "chunk": 500, "inputs": inputs, "outputs": outputs}, open(spec, "w"))
    r = subprocess.run(["node", os.path.join(HERE, "ort_run.cjs"), spec], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"ort_run {name} failed:\n{r.stdout}{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def features(pack_dir, pack, scenes, rate, seed, work):
    """Defective renders → token_embeds [N,65,D] (float16), unique captions and their normalised text
    embeddings, defect stats. Cached in `work` by (N, rate, seed, pack image encoder hash)."""
    img_file = pack["models"]["image"]["file"]
    key = f"{len(scenes)}_{rate}_{seed}_{sha256(os.path.join(pack_dir, img_file))[:10]}"
    cache = os.path.join(work, f"pcm_feats_{key}.npz")
    if os.path.exists(cache):
        z = np.load(cache, allow_pickle=False)
        return torch.from_numpy(z["tokens"]), json.loads(str(z["caps"])), torch.from_numpy(z["txt"]), json.loads(str(z["stats"])), torch.from_numpy(z["false"])
    t0 = time.time()
    px, dsc, _, stats = sd.defective_split(scenes, rate, seed, 64)
    false = torch.tensor([not sw.caption_is_true(c, d) for s, d in zip(scenes, dsc) for c in s["captions"]])
    log(f"rendered {len(px)} defective images in {time.time() - t0:.1f} s; measured {json.dumps(stats)}")
    N, D = len(px), pack["embedDim"]
    pre = pack["preprocess"]
    px_file = os.path.join(work, "pcm_px.u8")
    px.tofile(px_file)
    tok_file = os.path.join(work, "pcm_tokens.f32")
    r = ort_run(os.path.join(pack_dir, img_file), N, {pack["models"]["image"]["roles"]["pixels"]: {"pixelsU8": px_file, "shape": [N, 64, 64, 3], "mean": pre["mean"], "std": pre["std"]}},
                {pack["models"]["image"]["roles"]["tokens"]: tok_file}, work, "img")
    log(f"image tokens in onnxruntime-node: {r['seconds']:.1f} s")
    tokens = torch.from_numpy(np.fromfile(tok_file, dtype="<f4").reshape(N, -1, D).astype(np.float16))
    caps = sorted({c for s in scenes for c in s["captions"]})
    tok = WordTokenizer.load(os.path.join(pack_dir, pack["tokenizer"]["file"]))
    ids, mask = tok.batch(caps)
    ids_f, mask_f, txt_f = (os.path.join(work, f) for f in ("pcm_ids.i64", "pcm_mask.i64", "pcm_txt.f32"))
    ids.numpy().astype("<i8").tofile(ids_f)
    mask.numpy().astype("<i8").tofile(mask_f)
    roles = pack["models"]["text"]["roles"]
    r = ort_run(os.path.join(pack_dir, pack["models"]["text"]["file"]), len(caps),
                {roles["ids"]: {"file": ids_f, "dtype": "int64", "shape": list(ids.shape)}, roles["mask"]: {"file": mask_f, "dtype": "int64", "shape": list(mask.shape)}},
                {roles["embeds"]: txt_f}, work, "txt")
    txt = F.normalize(torch.from_numpy(np.fromfile(txt_f, dtype="<f4").reshape(len(caps), D)), dim=-1)
    for f in (px_file, tok_file, ids_f, mask_f, txt_f):
        os.remove(f)
    np.savez(cache, tokens=tokens.numpy(), caps=json.dumps(caps), txt=txt.numpy(), stats=json.dumps(stats), false=false.numpy())
    return tokens, caps, txt, stats, false


def salient(g_n, concepts_n, k=CONCEPT_K):
    return torch.softmax(g_n @ concepts_n.t() / TAU, dim=-1).topk(k, dim=-1).indices


class Bound:
    """When a variant's training stops early: `max_seconds` of wall time (0: none) or `stop()` (SIGTERM/SIGINT)."""

    def __init__(self, max_seconds=0.0):
        self.max_seconds, self.stopped = float(max_seconds), False

    def stop(self, *_):
        self.stopped = True


# [Note: time-bounded schedule] A run cut short by --max-minutes must still be a usable decoder, so the cosine
# schedule's progress (warm-up included) is max(step / total, elapsed / max_seconds): whichever budget runs out first, the learning
# rate has annealed to ~0 by then, and the weights at the stop are the end of a complete schedule, not a
# mid-training snapshot at full lr. Without a time bound the schedule is step-only and a resumed run is
# bit-identical to an uninterrupted one (test_train_pcm.py). SIGTERM/SIGINT stop after the current step and
# export what there is. `elapsed` excludes nothing: a paused (SIGSTOPped) process spends its budget too, since
# the bound is a deadline.
def train_variant(vid, mixup, cxe, top_m, tok, tokens, cap_ids, cap_w, concept_idx, concepts_n, epochs, seed, batch=32, lr=1e-3, max_steps=0,
                  bound=None, ckpt=None, ckpt_every=0, resume=False):
    """Image-major batches: `batch` defective images, each with all its captions (cap_ids [N,5,T], cap_w [N,5]);
    the encoder runs once per image, the decoder once per caption (rep = 5). Returns (net, info): info has the
    steps run, the planned total and what stopped the run ("steps", "time" or "signal"). `ckpt`: a checkpoint
    path written every `ckpt_every` steps and at the end; `resume` continues from it if it exists."""
    bound = bound or Bound()
    torch.manual_seed(seed)
    net = PCMNet(len(tok.vocab), tokens.shape[2], mixup=mixup, top_m=top_m)
    N, R = cap_ids.shape[0], cap_ids.shape[1]
    steps_per = N // batch
    if max_steps:  # a step bound: at most max_steps optimiser steps over `epochs` passes
        steps_per = min(steps_per, max(1, max_steps // epochs))
    total = steps_per * epochs
    warm = min(100, total // 10 + 1)
    opt = torch.optim.AdamW(param_groups(net, 0.01), lr=lr, betas=(0.9, 0.98))
    g = torch.Generator().manual_seed(seed)
    sigma = math.sqrt(SIGMA2_G)
    step, ep0, b0, perm, spent = 0, 0, 0, None, 0.0
    if resume and ckpt and os.path.exists(ckpt):
        c = torch.load(ckpt)
        if c["total"] != total or c["vid"] != vid:
            raise RuntimeError(f"{ckpt}: checkpoint of {c['vid']} ({c['total']} steps), not {vid} ({total} steps)")
        net.load_state_dict(c["net"])
        opt.load_state_dict(c["opt"])
        g.set_state(c["gen"])
        torch.set_rng_state(c["rng"])
        step, ep0, b0, perm, spent = c["step"], c["ep"], c["b"], c["perm"], c["spent"]
        log(f"{vid}: resumed at step {step}/{total} from {ckpt}")
    t_start = time.time() - spent

    def save():
        if ckpt:
            tmp = ckpt + ".tmp"
            torch.save({"vid": vid, "total": total, "net": net.state_dict(), "opt": opt.state_dict(), "gen": g.get_state(), "rng": torch.get_rng_state(),
                        "step": step, "ep": ep, "b": b, "perm": perm, "spent": time.time() - t_start}, tmp)
            os.replace(tmp, ckpt)

    stopped_by = "steps"
    net.train()
    ep, b = ep0, b0
    while ep < epochs and stopped_by == "steps":
        if perm is None:
            perm = torch.randperm(N, generator=g)
        tl, n, t0 = 0.0, 0, time.time()
        while b < steps_per:
            elapsed = time.time() - t_start
            if bound.stopped or (bound.max_seconds and elapsed >= bound.max_seconds):
                stopped_by = "signal" if bound.stopped else "time"
                break
            im = perm[b * batch : (b + 1) * batch]
            tk = tokens[im].float()
            g_n = F.normalize(tk[:, 0], dim=-1)
            g_noisy = F.normalize(g_n + sigma * torch.randn(g_n.shape, generator=g), dim=-1)
            cons = concepts_n[concept_idx[im]] if mixup else None
            ids = cap_ids[im].reshape(len(im) * R, -1)
            T = int((ids != PAD).sum(1).max())
            inp, tgt = ids[:, : T - 1], ids[:, 1:T].clone()
            prog = step if not bound.max_seconds else min(total, max(step, total * elapsed / bound.max_seconds))
            for gr in opt.param_groups:
                gr["lr"] = cosine_lr(prog, total, lr, warm)
            logits = net(tk, cons, inp, replace=True, g_override=g_noisy, rep=R)
            ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=PAD, reduction="none").view(tgt.shape)
            valid = (tgt != PAD).float()
            w = cap_w[im].reshape(-1, 1) if cxe else torch.ones(len(ids), 1)
            loss = (ce * valid * w).sum() / valid.sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            step, b, n = step + 1, b + 1, n + 1
            tl += float(loss)
            if b % 100 == 0:
                log(f"{vid} epoch {ep + 1} step {b}/{steps_per} (total {step}/{total}) loss {tl / n:.3f} lr {opt.param_groups[0]['lr']:.2e} ({time.time() - t0:.0f} s)")
            if ckpt_every and step % ckpt_every == 0:
                save()
        log(f"{vid} epoch {ep + 1}/{epochs} loss {tl / max(1, n):.3f} over {n} steps ({time.time() - t0:.0f} s)")
        if stopped_by == "steps":
            ep, b, perm = ep + 1, 0, None
    save()
    if stopped_by != "steps":
        log(f"{vid}: stopped by {stopped_by} at step {step}/{total}")
    net.eval()
    return net, {"steps": step, "plannedSteps": total, "stoppedBy": stopped_by, "captionPresentations": step * batch * R}


def export_variant(net, path, dim, K):
    # [Note: export mode] torch.onnx.export restores the *root's* training flag afterwards, and a fresh wrapper
    # module is in training mode, which would switch the net's dropout back on: keep the wrapper in eval.
    net.eval()
    tokens = torch.randn(2, net.cfg["grid"] ** 2 + 1, dim)
    ids = torch.tensor([[BOS, 5, 6], [BOS, 7, 8]])
    dyn = {"tokens": {0: "batch"}, "input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}}
    if net.mixup:
        cons = F.normalize(torch.randn(2, K, dim), dim=-1)
        torch.onnx.export(PCMExport(net).eval(), (tokens, cons, ids), path, input_names=["tokens", "concepts", "input_ids"], output_names=["logits"],
                          opset_version=14, dynamic_axes={**dyn, "concepts": {0: "batch"}})
    else:
        torch.onnx.export(PCMExportVisual(net).eval(), (tokens, ids), path, input_names=["tokens", "input_ids"], output_names=["logits"],
                          opset_version=14, dynamic_axes=dyn)


def check_variant(net, path, dim, K, vocab, work, vid):
    """onnxruntime-node vs torch fp32 on real-looking inputs; returns max |diff|."""
    cdir = os.path.join(work, "pcm_check")
    os.makedirs(cdir, exist_ok=True)
    gen = torch.Generator().manual_seed(3)
    tokens = torch.randn(3, net.cfg["grid"] ** 2 + 1, dim, generator=gen)
    cons = F.normalize(torch.randn(3, K, dim, generator=gen), dim=-1)
    ids = torch.randint(4, vocab, (3, 6), generator=gen)
    ids[:, 0] = BOS
    net.eval()
    with torch.no_grad():
        want = net(tokens, cons if net.mixup else None, ids)

    def save(name, t):
        p = os.path.join(cdir, f"{vid}_{name}.bin")
        arr = t.numpy()
        arr.astype(np.int64 if arr.dtype == np.int64 else np.float32).tofile(p)
        return {"file": p, "shape": list(arr.shape), "dtype": "int64" if arr.dtype == np.int64 else "float32"}

    inputs = {"tokens": save("tokens", tokens), "input_ids": save("ids", ids)}
    if net.mixup:
        inputs["concepts"] = save("concepts", cons)
    spec = os.path.join(cdir, f"{vid}.json")
    json.dump([{"model": path, "inputs": inputs, "outputs": {"logits": save("logits", want)}}], open(spec, "w"))
    r = subprocess.run(["node", os.path.join(HERE, "check_onnx.cjs"), spec], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"onnx check {vid} failed:\n{r.stdout}{r.stderr}")
    return max(c["maxAbsDiff"] for c in json.loads(r.stdout.strip().splitlines()[-1]))


def decoder_entry(vid, file, net, dim, K, vocab, description, training):
    P = net.cfg["grid"] ** 2
    roles = {"tokens": "tokens", "ids": "input_ids", "logits": "logits"}
    inputs = [{"name": "tokens", "shape": ["batch", P + 1, dim], "dtype": "float32"}]
    if net.mixup:
        roles["concepts"] = "concepts"
        inputs.append({"name": "concepts", "shape": ["batch", K, dim], "dtype": "float32"})
    inputs.append({"name": "input_ids", "shape": ["batch", "seq"], "dtype": "int64"})
    return {"id": vid, "file": file, "kind": "pcm-net", "noiseVariance": 0, "description": description, "roles": roles,
            "mixup": {"topM": net.cfg["top_m"], "tau": TAU, "conceptTopK": K, "pool": net.cfg["pool"]} if net.mixup else None,
            "inputs": inputs, "outputs": [{"name": "logits", "shape": ["batch", "seq", vocab], "dtype": "float32"}], "training": training}


def write_pack_copy(src, dst, entries, out_dir):
    """A copy of pack `src` at `dst` with the PCM decoders added (their files copied, `files` re-hashed)."""
    if os.path.exists(dst):
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
    pack = json.load(open(os.path.join(dst, "pack.json")))
    have = {d["id"] for d in pack["decoders"]}
    for e in entries:
        shutil.copy(os.path.join(out_dir, e["file"]), os.path.join(dst, e["file"]))
        entry = {k: v for k, v in e.items() if k != "training" and v is not None}
        pack["decoders"] = [d for d in pack["decoders"] if d["id"] != e["id"]] + [entry]
        have.add(e["id"])
    files = {f["path"]: f for f in pack["files"]}
    for e in entries:
        p = os.path.join(dst, e["file"])
        files[e["file"]] = {"path": e["file"], "bytes": os.path.getsize(p), "sha256": sha256(p)}
    pack["files"] = sorted(files.values(), key=lambda f: f["path"])
    sw.dump_json(os.path.join(dst, "pack.json"), pack, indent=2)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pack", default=os.path.join(REPO, "models", "shapes-demo"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--work", default=os.path.join(HERE, "work"))
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--rate", type=float, default=0.3, help="defect probability per object (synth_defects.py)")
    ap.add_argument("--train", type=int, default=20000, help="training scenes (one defective render each)")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--max-steps", type=int, default=0, help="cap on optimiser steps per variant (0: every batch of every epoch)")
    ap.add_argument("--max-minutes", type=float, default=0, help="wall-time bound per variant: stop, anneal-complete, and export ([Note: time-bounded schedule])")
    ap.add_argument("--ckpt-every", type=int, default=200, help="write DIR/ckpt_<id>.pt every N steps (and at the end)")
    ap.add_argument("--resume", action="store_true", help="continue each variant from DIR/ckpt_<id>.pt if it exists")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--top-m", type=int, default=2, help="mix-up: top-M affinity entries select the mixed patches")
    ap.add_argument("--suffix", default="", help="appended to every decoder id and file name (sweeps)")
    ap.add_argument("--seed", type=int, default=51)
    ap.add_argument("--pack-out", default=None, help="also write a copy of the pack with these decoders added")
    a = ap.parse_args(argv)
    t_all = time.time()
    os.makedirs(a.out, exist_ok=True)
    os.makedirs(a.work, exist_ok=True)
    pack = json.load(open(os.path.join(a.pack, "pack.json")))
    D = pack["embedDim"]
    tok = WordTokenizer.load(os.path.join(a.pack, pack["tokenizer"]["file"]))
    c_spec = pack["arrays"]["concepts"]
    concepts_n = F.normalize(torch.from_numpy(np.fromfile(os.path.join(a.pack, c_spec["file"]), dtype="<f4").reshape(c_spec["shape"])), dim=-1)
    scenes = sw.generate_scenes("train", a.train, 1)
    tokens, caps, txt, stats, false_mask = features(a.pack, pack, scenes, a.rate, a.seed, a.work)
    log(f"{len(scenes)} defective images, {len(caps)} unique captions; defects {json.dumps(stats)}")
    g_n = F.normalize(tokens[:, 0].float(), dim=-1)
    concept_idx = salient(g_n, concepts_n)
    cap_index = {c: i for i, c in enumerate(caps)}
    pairs_img = torch.tensor([i for i, s in enumerate(scenes) for _ in s["captions"]])
    pairs_cap = torch.tensor([cap_index[c] for s in scenes for c in s["captions"]])
    cos = (g_n[pairs_img] * txt[pairs_cap]).sum(-1)
    pairs_w = (CXE_W * cos).clamp(max=1.0)  # min(1, 4·cos), as the paper (cos < 0 gives a negative weight: clamp at 0)
    pairs_w = pairs_w.clamp(min=0.0)
    ids_all, _ = tok.batch(caps)
    cap_ids = ids_all[pairs_cap].view(len(scenes), 5, -1)
    cap_w = pairs_w.view(len(scenes), 5)
    wstats = {"mean": round(float(pairs_w.mean()), 4), "belowOne": round(float((pairs_w < 1).float().mean()), 4),
              "meanOnTruePairs": round(float(pairs_w[~false_mask].mean()), 4) if (~false_mask).any() else None,
              "meanOnFalsePairs": round(float(pairs_w[false_mask].mean()), 4) if false_mask.any() else None,
              "cosMean": round(float(cos.mean()), 4)}
    log("CXE weights", json.dumps(wstats))
    bound_for = lambda: Bound(a.max_minutes * 60)  # noqa: E731  (one budget per variant)
    entries, report = [], {"defects": stats, "rate": a.rate, "cxeWeights": wstats, "variants": {}}
    for vid in a.variants.split(","):
        mixup, cxe = VARIANTS[vid]
        did = vid + a.suffix
        t0 = time.time()
        bound = bound_for()
        signal.signal(signal.SIGTERM, bound.stop)
        signal.signal(signal.SIGINT, bound.stop)
        net, info = train_variant(did, mixup, cxe, a.top_m, tok, tokens, cap_ids, cap_w, concept_idx, concepts_n, a.epochs, a.seed, lr=a.lr, max_steps=a.max_steps,
                                  bound=bound, ckpt=os.path.join(a.out, f"ckpt_{did}.pt"), ckpt_every=a.ckpt_every, resume=a.resume)
        secs = round(time.time() - t0, 1)
        fname = f"decoder_{did}.onnx"
        path = os.path.join(a.out, fname)
        export_variant(net, path, D, CONCEPT_K)
        diff = check_variant(net, path, D, CONCEPT_K, len(tok.vocab), a.work, did)
        log(f"{did}: trained in {secs} s, onnxruntime-node vs torch max|diff| {diff:.2e}")
        if diff > 1e-4:
            raise RuntimeError(f"{did}: ONNX differs from torch by {diff}")
        desc = (f"PCM-Net ({'mix-up top-M=' + str(a.top_m) if mixup else 'no mix-up'}, {'CLIP-weighted CE' if cxe else 'plain CE'}) "
                f"trained on {len(pairs_img)} synthetic pairs (defect rate {a.rate})")
        training = {**net.cfg, **info, "epochs": a.epochs, "maxSteps": a.max_steps, "maxMinutes": a.max_minutes, "lr": a.lr, "batchImages": 32, "pairs": len(pairs_img), "seconds": secs, "seed": a.seed, "defectRate": a.rate,
                    "cxe": cxe, "params": sum(p.numel() for p in net.parameters()), "onnxMaxAbsDiffVsTorch": diff}
        entries.append(decoder_entry(did, fname, net, D, CONCEPT_K, len(tok.vocab), desc, training))
        report["variants"][did] = training
    report["seconds"] = round(time.time() - t_all, 1)
    sw.dump_json(os.path.join(a.out, "pcm_decoders.json"), entries, indent=2)
    sw.dump_json(os.path.join(a.out, "pcm_training.json"), report, indent=2)
    if a.pack_out:
        write_pack_copy(a.pack, a.pack_out, entries, a.out)
        log(f"pack copy with {len(entries)} PCM decoders at {a.pack_out}")
    log(f"done in {report['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
