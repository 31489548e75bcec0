"""Tiny CLIP (ViT image tower + word-level text tower) and the prefix-tokens caption decoder.

fp32 inference speed: Debian's PyTorch 1.13 uses a reference BLAS for fp32 GEMMs (very slow on this CPU), so
`Lin` can route fp32 inference through oneDNN (`fast_fp32(model)`), which is exact fp32 (matches the generic
path within ~1e-6). Training uses bf16 autocast (oneDNN bf16 GEMMs), see train code.
"""
from __future__ import annotations

import json
import math
import re

import torch
import torch.nn as nn
import torch.nn.functional as F

SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>"]
PAD, BOS, EOS, UNK = 0, 1, 2, 3


class WordTokenizer:
    def __init__(self, vocab: list[str], max_length: int = 24):
        self.vocab = list(vocab)
        self.index = {w: i for i, w in enumerate(self.vocab)}
        self.max_length = max_length

    @staticmethod
    def build(words, max_length: int = 24) -> "WordTokenizer":
        return WordTokenizer(SPECIALS + sorted(set(words)), max_length)

    @staticmethod
    def load(path: str) -> "WordTokenizer":
        d = json.load(open(path))
        return WordTokenizer(d["vocab"], d["maxLength"])

    def to_json(self) -> dict:
        return {"type": "word", "vocab": self.vocab, "pad": PAD, "bos": BOS, "eos": EOS, "unk": UNK,
                "maxLength": self.max_length, "lowercase": True}

    @staticmethod
    def words(text: str) -> list[str]:
        return re.sub(r"[^a-z0-9 ]+", "", text.lower()).split()

    def encode(self, text: str) -> list[int]:
        ids = [self.index.get(w, UNK) for w in self.words(text)][: self.max_length - 2]
        return [BOS] + ids + [EOS]

    def batch(self, texts) -> tuple[torch.Tensor, torch.Tensor]:
        enc = [self.encode(t) for t in texts]
        T = max(len(e) for e in enc)
        ids = torch.zeros(len(enc), T, dtype=torch.long)
        mask = torch.zeros(len(enc), T, dtype=torch.long)
        for i, e in enumerate(enc):
            ids[i, : len(e)] = torch.tensor(e)
            mask[i, : len(e)] = 1
        return ids, mask

    def decode(self, ids) -> str:
        out = []
        for i in ids:
            i = int(i)
            if i == EOS:
                break
            if i in (PAD, BOS):
                continue
            out.append(self.vocab[i] if i < len(self.vocab) else "<unk>")
        return " ".join(out)


_FAST = {"on": False}


class Lin(nn.Linear):
    """nn.Linear that can use oneDNN for fp32 inference (see module doc)."""

    def forward(self, x):
        if _FAST["on"] and not torch.is_grad_enabled() and x.dtype == torch.float32 and not torch.jit.is_tracing() \
                and not torch.onnx.is_in_onnx_export():
            sh = x.shape
            w = self.weight.detach().to_mkldnn()
            b = (self.bias if self.bias is not None else torch.zeros(self.out_features)).detach().to_mkldnn()
            y = torch._C._nn.mkldnn_linear(x.reshape(-1, sh[-1]).contiguous().to_mkldnn(), w, b).to_dense()
            return y.reshape(*sh[:-1], self.out_features)
        return super().forward(x)


class fast_fp32:
    """Context manager: fp32 inference through oneDNN."""

    def __enter__(self):
        self.prev = _FAST["on"]
        _FAST["on"] = True

    def __exit__(self, *a):
        _FAST["on"] = self.prev


class LayerNorm(nn.LayerNorm):
    """LayerNorm computed in fp32 (CPU autocast in torch 1.13 does not cast its inputs)."""

    def forward(self, x):
        return F.layer_norm(x.float(), self.normalized_shape, self.weight, self.bias, self.eps)


class Block(nn.Module):
    """Pre-norm transformer block with explicit attention (returns head-averaged attention probabilities)."""

    def __init__(self, width: int, heads: int, mlp: int):
        super().__init__()
        self.heads = heads
        self.ln1 = LayerNorm(width)
        self.qkv = Lin(width, 3 * width)
        self.out = Lin(width, width)
        self.ln2 = LayerNorm(width)
        self.fc1 = Lin(width, mlp)
        self.fc2 = Lin(mlp, width)

    def forward(self, x, bias=None):
        x, a, _, _ = self.forward_kv(x, bias)
        return x, a

    def forward_kv(self, x, bias=None, past_k=None, past_v=None):
        """forward() over new positions x that also attend to cached keys/values [B, H, S, hd]; returns
        (x, attention, keys, values) with the keys/values of all positions (decoder_cache.py)."""
        B, T, C = x.shape
        h = self.heads
        qkv = self.qkv(self.ln1(x)).reshape(B, T, 3, h, C // h).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        if past_k is not None:
            k = torch.cat([past_k, k], dim=2)
            v = torch.cat([past_v, v], dim=2)
        s = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(C // h))
        if bias is not None:
            s = s + bias
        a = torch.softmax(s.float(), dim=-1).to(v.dtype)
        y = torch.matmul(a, v).transpose(1, 2).reshape(B, T, C)
        x = x + self.out(y)
        x = x + self.fc2(F.gelu(self.fc1(self.ln2(x))))
        return x, a, k, v


class ImageTower(nn.Module):
    """ViT image tower. stem="conv": a small convolutional patch stem (3x3 convolutions: one at full resolution, then three stride-2; 64 px ->
    8x8 tokens, each token aligned with one 8x8-pixel patch; ViTs with early convolutions train much faster on
    small data) ; stem="linear": the standard linear patch embedding (== conv k=p s=p), used for the ViT-B/32
    shaped benchmark export."""

    def __init__(self, size=64, patch=8, width=128, layers=4, heads=4, mlp=512, dim=128, stem="linear"):
        super().__init__()
        self.grid = size // patch
        self.patch = patch
        self.stem_kind = stem
        if stem == "conv":
            assert patch == 8
            self.stem = nn.Sequential(nn.Conv2d(3, 24, 3, 1, 1), nn.GELU(), nn.Conv2d(24, 48, 3, 2, 1), nn.GELU(),
                                      nn.Conv2d(48, 96, 3, 2, 1), nn.GELU(), nn.Conv2d(96, width, 3, 2, 1))
        else:
            self.patch_embed = Lin(3 * patch * patch, width)
        self.cls = nn.Parameter(torch.randn(width) * 0.02)
        self.pos = nn.Parameter(torch.randn(self.grid * self.grid + 1, width) * 0.02)
        self.ln_pre = LayerNorm(width)
        self.blocks = nn.ModuleList([Block(width, heads, mlp) for _ in range(layers)])
        self.ln_post = LayerNorm(width)
        self.proj = nn.Parameter(torch.randn(width, dim) * width**-0.5)

    def forward(self, pixels):
        B = pixels.shape[0]
        g, p = self.grid, self.patch
        if self.stem_kind == "conv":
            x = self.stem(pixels).flatten(2).transpose(1, 2)  # [B, g*g, W], row-major patches
        else:
            # [B,3,g*p,g*p] -> [B, g*g, 3*p*p] patches in row-major order
            x = pixels.reshape(B, 3, g, p, g, p).permute(0, 2, 4, 1, 3, 5).reshape(B, g * g, 3 * p * p)
            x = self.patch_embed(x)
        x = torch.cat([self.cls.to(x.dtype).expand(B, 1, -1), x], dim=1) + self.pos.to(x.dtype)
        x = self.ln_pre(x)
        a = None
        for blk in self.blocks:
            x, a = blk(x)
        t = self.ln_post(x) @ self.proj.to(x.dtype)
        return t[:, 0], t, a.mean(dim=1)


class TextTower(nn.Module):
    def __init__(self, vocab, width=128, layers=3, heads=4, mlp=512, dim=128, ctx=24):
        super().__init__()
        self.tok = nn.Embedding(vocab, width)
        nn.init.normal_(self.tok.weight, std=0.02)
        self.pos = nn.Parameter(torch.randn(ctx, width) * 0.02)
        self.blocks = nn.ModuleList([Block(width, heads, mlp) for _ in range(layers)])
        self.ln_final = LayerNorm(width)
        self.proj = nn.Parameter(torch.randn(width, dim) * width**-0.5)

    def forward(self, ids, mask):
        B, T = ids.shape
        x = self.tok(ids) + self.pos[:T]
        bias = ((1 - mask).to(x.dtype) * -1e4)[:, None, None, :]
        for blk in self.blocks:
            x, _ = blk(x, bias)
        x = self.ln_final(x)
        # feature at the eos position (the last real token), as CLIP takes its EOT token
        last = (mask.sum(dim=1) - 1).clamp(min=0)
        onehot = F.one_hot(last, T).to(x.dtype)
        feat = torch.einsum("bt,btc->bc", onehot, x)
        return feat @ self.proj.to(x.dtype)


class TinyCLIP(nn.Module):
    def __init__(self, vocab, cfg: dict):
        super().__init__()
        self.cfg = dict(cfg)
        self.visual = ImageTower(64, 8, cfg["width"], cfg["image_layers"], cfg["heads"], 4 * cfg["width"], cfg["dim"], cfg.get("stem", "linear"))
        self.text = TextTower(vocab, cfg["width"], cfg["text_layers"], cfg["heads"], 4 * cfg["width"], cfg["dim"])
        self.logit_scale = nn.Parameter(torch.tensor(math.log(cfg.get("init_scale", 1 / 0.07))))

    def loss(self, pixels, ids, mask):
        img, _, _ = self.visual(pixels)
        txt = self.text(ids, mask)
        img = F.normalize(img.float(), dim=-1)
        txt = F.normalize(txt.float(), dim=-1)
        scale = self.logit_scale.clamp(max=math.log(100.0)).exp()
        logits = scale * img @ txt.t()
        labels = torch.arange(len(img))
        return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2


    def loss_multi(self, pixels, ids, mask, k):
        """Each image with all k of its captions (ids: [B*k, T], image-major). image->text: soft cross-entropy
        with 1/k on each own caption; text->image: cross-entropy over the B images."""
        img, _, _ = self.visual(pixels)
        txt = self.text(ids, mask)
        img = F.normalize(img.float(), dim=-1)
        txt = F.normalize(txt.float(), dim=-1)
        scale = self.logit_scale.clamp(max=math.log(100.0)).exp()
        logits = scale * img @ txt.t()  # [B, B*k]
        B = len(img)
        own = torch.arange(B).repeat_interleave(k)
        target = (own[None, :] == torch.arange(B)[:, None]).float() / k
        l_i2t = -(target * F.log_softmax(logits, dim=1)).sum(1).mean()
        l_t2i = F.cross_entropy(logits.t(), own)
        return (l_i2t + l_t2i) / 2


class ImageExport(nn.Module):
    def __init__(self, tower):
        super().__init__()
        self.tower = tower

    def forward(self, pixel_values):
        return self.tower(pixel_values)


class TextExport(nn.Module):
    """The text tower as an ONNX export root: input_ids, attention_mask -> text_embeds. The tower pools at the
    last real token, which with CLIP's [sot] ... [eot] pad... layout is EOT."""

    def __init__(self, tower):
        super().__init__()
        self.t = tower

    def forward(self, input_ids, attention_mask):
        return self.t(input_ids, attention_mask)


class Decoder(nn.Module):
    """prefix-tokens decoder: prefix [B,D] -> P prefix vectors, then causal transformer over [prefix, tokens]."""

    def __init__(self, vocab, dim=128, width=128, layers=3, heads=4, prefix_len=4, ctx=24):
        super().__init__()
        self.prefix_len = prefix_len
        self.width = width
        self.prefix = Lin(dim, width * prefix_len)
        self.tok = nn.Embedding(vocab, width)
        nn.init.normal_(self.tok.weight, std=0.02)
        self.pos = nn.Parameter(torch.randn(prefix_len + ctx, width) * 0.02)
        self.blocks = nn.ModuleList([Block(width, heads, 4 * width) for _ in range(layers)])
        self.ln_f = LayerNorm(width)
        self.head = Lin(width, vocab)
        self.cfg = {"dim": dim, "width": width, "layers": layers, "heads": heads, "prefix_len": prefix_len, "ctx": ctx}

    def forward(self, prefix, input_ids):
        B, T = input_ids.shape
        P = self.prefix_len
        pre = self.prefix(prefix).reshape(B, P, self.width)
        x = torch.cat([pre, self.tok(input_ids).to(pre.dtype)], dim=1)
        x = x + self.pos[: P + T].to(x.dtype)
        n = P + T
        i = torch.arange(n)
        causal = (i[None, :] > i[:, None]).to(x.dtype) * -1e4
        for blk in self.blocks:
            x, _ = blk(x, causal[None, None])
        x = self.ln_f(x[:, P:])
        return self.head(x)
