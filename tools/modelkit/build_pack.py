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
import json
import math
import os
import shutil
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import shapesworld as sw  # noqa: E402
from kit_analysis import apply_w, fit_procrustes, fit_ridge, gap_stats, patch_route, retrieval, score  # noqa: E402
from kit_common import (CLIP_CFG, FULL, MAX_LEN, NOISE_SAMPLES, PAPER_SIGMA2, QUICK, REPO, SEEDS, TIMES, Stage,  # noqa: E402
                        DEC_CFG, load_split, log)
from kit_export import check_onnx, export_onnx, git_commit, kit_dirty, sha256, write_f32  # noqa: E402
from kit_train import embed_images, embed_texts, greedy, train_clip, train_decoder  # noqa: E402
from models import WordTokenizer  # noqa: E402
torch.set_num_threads(1)


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
            "domain": "synthetic-shapes",
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
