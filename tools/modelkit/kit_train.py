"""build_pack.py stages "clip", "embed" and "decoders": contrastive CLIP training, fp32 embeddings, text-only
decoders and greedy decoding in torch (for the kit's own evaluation)."""
from __future__ import annotations

import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import train_decoder as TD  # noqa: E402
from kit_common import CLIP_ALL_CAPTIONS, CLIP_BATCH, CLIP_CFG, CLIP_LR, DEC_CFG, MAX_LEN, log, to_input  # noqa: E402
from models import BOS, EOS, TinyCLIP, fast_fp32  # noqa: E402

cosine_lr = TD.cosine_lr
# training


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
