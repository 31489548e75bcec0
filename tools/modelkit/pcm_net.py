"""PCM-Net for the model kit (methods.md §4): patch-wise cross-modal mix-up, a visual-semantic encoder and a
sentence decoder that attends to it, sized for ShapesWorld (width 128, 2 + 2 layers).

Inputs (the engine's own quantities, docs/pack-format.md decoder kind `pcm-net`):
- `tokens` [B, 1 + G², D]: the image encoder's `token_embeds` (ln_post(all tokens)·proj; row 0 = CLS = the
  global embedding g, then the G×G patches row-major). Not necessarily normalised: the model L2-normalises every row, averages the patches over pool×pool
  blocks (8×8 → 4×4 patches of 16 px, about one ShapesWorld object each, as a ViT-B/32 patch is on COCO)
  and normalises the pooled rows again.
- `concepts` [B, K, D]: the text embeddings of the image's K salient concepts (the pack's `concepts` rows picked
  by CLIP similarity of g to the vocabulary, softmax with τ = 0.01, top-K; normalised). Absent when mixup=False.
- `input_ids` [B, T] starting with bos; output `logits` [B, T, V], logits[:, t] predicts token t+1.

Mix-up (§4.3): affinity a_jk = cos(v_j, c_k); textual patch t_j = Σ_k softmax_k(a_jk / τ)·c_k; a patch is
selected when one of its entries is among the top-M of all P·K entries (M = `top_m`). Training ("replace"):
the selected patches' embeddings are replaced by their textual patches' embeddings. Inference ("concat", the
exported graph): [g, every visual patch, every textual patch], the textual patches that were not selected
hidden by the attention mask; textual patch j reuses position j. Every token gets a learned position and a
token-type embedding (1 = textual), then ReLU, LayerNorm and dropout (§4.3 step 8).

[Note: PCM-Net deviations] The paper's encoder/decoder are 3 + 3 post-LN BERT layers at width 512 over raw
(pre-ln_post) ViT tokens; here 2 + 2 pre-norm layers at width 128 over the projected tokens the pack's encoder
exports (its raw tokens are not an output), dropout 0.1 instead of 0.5 (a 1M-parameter model on 100k pairs).
Width 64 and 4×4 pooled patches keep training within minutes on a shared CPU (fp32: bf16 autocast was
15× slower than fp32 on this machine for these shapes); M = 2 of 16 patches ≈ the paper's 5 of 49.
The selection "top-M entries ⇒ patch" is computed as max_k a_jk ≥ the M-th largest entry (the same set up to
ties; it exports to ONNX as TopK + compare). The inter-layer global feature interaction is kept (the global
slot after the encoder = LayerNorm(Linear(concat of the global slot of the input and of every layer))).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from models import Block, LayerNorm, Lin

TAU = 0.01


def _attend(q, k, v, heads, bias=None):
    B, T, C = q.shape
    S = k.shape[1]
    hd = C // heads
    q = q.reshape(B, T, heads, hd).transpose(1, 2)
    k = k.reshape(B, S, heads, hd).transpose(1, 2)
    v = v.reshape(B, S, heads, hd).transpose(1, 2)
    s = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(hd))
    if bias is not None:
        s = s + bias
    a = torch.softmax(s.float(), dim=-1).to(v.dtype)
    return torch.matmul(a, v).transpose(1, 2).reshape(B, T, C)


class CrossBlock(nn.Module):
    """Pre-norm decoder block: causal self-attention, cross-attention over the encoder output, MLP."""

    def __init__(self, width: int, heads: int, mlp: int):
        super().__init__()
        self.heads = heads
        self.ln1, self.qkv, self.out1 = LayerNorm(width), Lin(width, 3 * width), Lin(width, width)
        self.ln2, self.q, self.kv, self.out2 = LayerNorm(width), Lin(width, width), Lin(width, 2 * width), Lin(width, width)
        self.ln3, self.fc1, self.fc2 = LayerNorm(width), Lin(width, mlp), Lin(mlp, width)

    def forward(self, x, mem, self_bias, mem_bias, rep: int = 1):
        q, k, v = self.qkv(self.ln1(x)).chunk(3, dim=-1)
        x = x + self.out1(_attend(q, k, v, self.heads, self_bias))
        k2, v2 = self.kv(mem).chunk(2, dim=-1)
        if rep > 1:  # training: `rep` captions per image share the image's memory
            k2, v2, mem_bias = (t.repeat_interleave(rep, dim=0) for t in (k2, v2, mem_bias))
        x = x + self.out2(_attend(self.q(self.ln2(x)), k2, v2, self.heads, mem_bias))
        return x + self.fc2(F.gelu(self.fc1(self.ln3(x))))


def mix_selection(v_n, c_n, top_m: int):
    """Textual patches [B,P,D] and the selection mask [B,P] (1 = mixed) of §4.3, from normalised patches
    v_n [B,P,D] and concepts c_n [B,K,D]; also the concept each patch leans on most [B,P]."""
    a = torch.matmul(v_n, c_n.transpose(1, 2))  # [B,P,K]
    t = torch.matmul(torch.softmax(a / TAU, dim=-1), c_n)
    best, which = a.max(dim=-1)
    m = min(top_m, a.shape[1] * a.shape[2])
    thr = a.reshape(a.shape[0], -1).topk(m, dim=1).values[:, m - 1 : m]
    return t, (best >= thr).to(v_n.dtype), which


class PCMNet(nn.Module):
    def __init__(self, vocab: int, dim=128, width=64, enc_layers=2, dec_layers=2, heads=4, grid=8, pool=2, ctx=32,
                 mixup=True, top_m=2, dropout=0.1):
        super().__init__()
        patches = (grid // pool) ** 2
        self.grid, self.pool = grid, pool
        self.cfg = dict(dim=dim, width=width, enc_layers=enc_layers, dec_layers=dec_layers, heads=heads, grid=grid, pool=pool,
                        patches=patches, ctx=ctx, mixup=mixup, top_m=top_m, dropout=dropout)
        self.mixup, self.top_m, self.heads = mixup, top_m, heads
        self.g_embed, self.v_embed, self.t_embed = Lin(dim, width), Lin(dim, width), Lin(dim, width)
        self.pos = nn.Parameter(torch.randn(patches + 1, width) * 0.02)
        self.ttype = nn.Parameter(torch.randn(2, width) * 0.02)
        self.ln_in = LayerNorm(width)
        self.drop = nn.Dropout(dropout)
        self.enc = nn.ModuleList([Block(width, heads, 4 * width) for _ in range(enc_layers)])
        self.g_mix = Lin(width * (enc_layers + 1), width)
        self.ln_g = LayerNorm(width)
        self.tok = nn.Embedding(vocab, width)
        nn.init.normal_(self.tok.weight, std=0.02)
        self.dpos = nn.Parameter(torch.randn(ctx, width) * 0.02)
        self.dec = nn.ModuleList([CrossBlock(width, heads, 4 * width) for _ in range(dec_layers)])
        self.ln_f = LayerNorm(width)
        self.head = Lin(width, vocab)

    def _in(self, x):
        return self.drop(self.ln_in(F.relu(x)))

    def encode(self, tokens, concepts=None, replace=False, g_override=None):
        """Encoder memory [B,S,W] and its key bias [B,1,1,S] (0 visible, −1e4 hidden)."""
        g = F.normalize(tokens[:, 0].float(), dim=-1) if g_override is None else g_override
        B, D = tokens.shape[0], tokens.shape[2]
        n, p = self.grid // self.pool, self.pool
        # rows normalised first (the engine hands tokens over normalised), then pooled over p×p patches
        v = F.normalize(tokens[:, 1:].float(), dim=-1).reshape(B, n, p, n, p, D).mean(dim=(2, 4)).reshape(B, n * n, D)
        v = F.normalize(v, dim=-1)
        P = n * n
        eg = self.g_embed(g)[:, None] + self.pos[0] + self.ttype[0]
        ev = self.v_embed(v) + self.pos[1:] + self.ttype[0]
        bias = torch.zeros(B, 1 + P, dtype=ev.dtype)
        if self.mixup and concepts is not None:
            t, sel, _ = mix_selection(v, F.normalize(concepts.float(), dim=-1), self.top_m)
            et = self.t_embed(t) + self.pos[1:] + self.ttype[1]
            sel = sel.to(ev.dtype)[:, :, None]
            if replace:  # training on synthetic images: selected visual patches replaced by textual ones
                x = torch.cat([eg, sel * et + (1 - sel) * ev], dim=1)
            else:  # inference: textual patches concatenated, unselected ones masked
                x = torch.cat([eg, ev, et], dim=1)
                bias = torch.cat([bias, (1 - sel[:, :, 0]) * -1e4], dim=1)
        else:
            x = torch.cat([eg, ev], dim=1)
        x = self._in(x)
        kb = bias[:, None, None, :].to(x.dtype)
        globals_ = [x[:, 0]]
        for blk in self.enc:
            x, _ = blk(x, kb)
            globals_.append(x[:, 0])
        gx = self.ln_g(self.g_mix(torch.cat(globals_, dim=-1)))
        return torch.cat([gx[:, None], x[:, 1:]], dim=1), kb

    def decode(self, mem, kb, input_ids, rep: int = 1):
        B, T = input_ids.shape
        x = self.tok(input_ids).to(mem.dtype) + self.dpos[:T].to(mem.dtype)
        i = torch.arange(T)
        causal = ((i[None, :] > i[:, None]).to(x.dtype) * -1e4)[None, None]
        for blk in self.dec:
            x = blk(x, mem, causal, kb, rep)
        return self.head(self.ln_f(x))

    def forward(self, tokens, concepts, input_ids, replace=False, g_override=None, rep: int = 1):
        """rep > 1 (training): input_ids holds `rep` captions per image, image-major."""
        mem, kb = self.encode(tokens, concepts, replace, g_override)
        return self.decode(mem, kb, input_ids, rep)


class PCMExport(nn.Module):
    """ONNX root: the inference graph (concat mode). With mixup the inputs are (tokens, concepts, input_ids)."""

    def __init__(self, net: PCMNet):
        super().__init__()
        self.net = net

    def forward(self, tokens, concepts, input_ids):
        return self.net(tokens, concepts, input_ids, replace=False)


class PCMExportVisual(nn.Module):
    """ONNX root of a model trained without mix-up: (tokens, input_ids)."""

    def __init__(self, net: PCMNet):
        super().__init__()
        self.net = net

    def forward(self, tokens, input_ids):
        return self.net(tokens, None, input_ids, replace=False)
