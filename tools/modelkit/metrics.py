"""Caption metrics re-derived from the coco-caption definitions (no code copied): CIDEr-D and BLEU-4.

- Tokenisation (PTB-ish): lowercase, every character other than a letter, digit or space becomes a space,
  split on whitespace. (ShapesWorld captions are already in that form.)
- CIDEr-D: n = 1..4; tf-idf vectors with term frequency = raw n-gram count and idf = log(#images) -
  log(max(1, df)), df counted over the reference sets of the images being scored; per n the similarity is
  Σ_g min(h_g, r_g)·r_g / (|h|·|r|) (clipping), times exp(-(len_h - len_r)² / (2·6²)) where len is the
  number of bigrams (as coco-caption counts it); averaged over n and over references, ×10; mean over images.
- BLEU-4: corpus-level, clipped n-gram precisions, geometric mean, brevity penalty with the closest
  reference length (ties to the shorter), tiny smoothing as coco-caption (1e-15 / 1e-9).
"""
from __future__ import annotations

import math
import re
from collections import Counter


def ptb_tokenize(s: str) -> list[str]:
    return re.sub(r"[^a-z0-9 ]+", " ", s.lower()).split()


def _ngrams(words: list[str], n_max: int = 4) -> Counter:
    c: Counter = Counter()
    for n in range(1, n_max + 1):
        for i in range(len(words) - n + 1):
            c[tuple(words[i : i + n])] += 1
    return c


def cider_d(hyps: dict, refs: dict, sigma: float = 6.0, n_max: int = 4) -> tuple[float, dict]:
    """hyps: {key: caption}, refs: {key: [captions]} (same keys). Returns (mean score, per-key scores)."""
    keys = list(hyps)
    ref_counts = {k: [_ngrams(ptb_tokenize(r), n_max) for r in refs[k]] for k in keys}
    df: Counter = Counter()
    for k in keys:
        for g in set(g for c in ref_counts[k] for g in c):
            df[g] += 1
    log_n = math.log(float(len(keys)))

    def vec(cnt: Counter):
        v = [dict() for _ in range(n_max)]
        norm = [0.0] * n_max
        length = 0
        for g, tf in cnt.items():
            n = len(g) - 1
            w = float(tf) * (log_n - math.log(max(1.0, df[g])))
            v[n][g] = w
            norm[n] += w * w
            if n == 1:
                length += tf
        return v, [math.sqrt(x) for x in norm], length

    per = {}
    for k in keys:
        hv, hn, hl = vec(_ngrams(ptb_tokenize(hyps[k]), n_max))
        total = [0.0] * n_max
        for rc in ref_counts[k]:
            rv, rn, rl = vec(rc)
            delta = float(hl - rl)
            for n in range(n_max):
                val = 0.0
                for g, w in hv[n].items():
                    if g in rv[n]:
                        val += min(w, rv[n][g]) * rv[n][g]
                if hn[n] != 0 and rn[n] != 0:
                    val /= hn[n] * rn[n]
                val *= math.exp(-(delta**2) / (2 * sigma**2))
                total[n] += val
        per[k] = sum(total) / n_max / len(ref_counts[k]) * 10.0
    return (sum(per.values()) / len(per) if per else 0.0), per


def bleu4(hyps: dict, refs: dict) -> float:
    tiny, small = 1e-15, 1e-9
    correct = [0] * 4
    guess = [0] * 4
    hyp_len = 0
    ref_len = 0
    for k, h in hyps.items():
        hw = ptb_tokenize(h)
        rws = [ptb_tokenize(r) for r in refs[k]]
        hyp_len += len(hw)
        ref_len += min((abs(len(r) - len(hw)), len(r)) for r in rws)[1]
        for n in range(1, 5):
            hc = Counter(tuple(hw[i : i + n]) for i in range(len(hw) - n + 1))
            maxr: Counter = Counter()
            for r in rws:
                rc = Counter(tuple(r[i : i + n]) for i in range(len(r) - n + 1))
                for g, c in rc.items():
                    maxr[g] = max(maxr[g], c)
            correct[n - 1] += sum(min(c, maxr[g]) for g, c in hc.items())
            guess[n - 1] += max(0, len(hw) - n + 1)
    logp = sum(math.log((correct[i] + tiny) / (guess[i] + small)) for i in range(4)) / 4
    bp = 1.0 if hyp_len >= ref_len else math.exp(1 - ref_len / max(hyp_len, small))
    return bp * math.exp(logp)
