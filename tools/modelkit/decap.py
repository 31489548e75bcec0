"""DeCap's COCO caption decoder (Li et al., ICLR 2023; dhg-wei/DeCap) rebuilt as our own module, and the checked
loading of its published state_dict. Model kit only (offline, PyTorch); the app never loads a pickle.

What DeCap is (read from dhg-wei/DeCap @ 1c26934: train.py, inference_decap.ipynb, decoder_config.pkl, inspected
with pickletools, never unpickled):
- `DeCap.decoder` is a Hugging Face GPT2LMHeadModel built from `decoder_config.pkl`: vocab_size 50257,
  n_positions 1024, n_embd 768, n_layer 4, n_head 4, activation gelu_new, layer_norm_epsilon 1e-5,
  scale_attn_weights true, tie_word_embeddings true, trained from scratch on CLIP BPE ids (SOT 49406, EOT 49407;
  the ids above 49407 never occur).
- `DeCap.clip_project` is ClipCap's MLP((512, 768)): one nn.Linear, key `clip_project.model.0`.
- Forward: inputs_embeds = [clip_project(x), wte(tokens)], GPT-2 adds wpe[0..n-1] (the prefix is position 0).
  Training targets are the 20 padded CLIP tokens starting with SOT, so the prefix position predicts SOT; the
  notebook decodes greedily from the prefix alone, up to 30 tokens, stopping at 49407.

[Note: DeCap as a prefix-tokens decoder] The engine feeds `input_ids` starting with the tokenizer's bos (SOT
for the CLIP BPE tokenizer) and reads logits[:, t] as the prediction after token t. DeCapDecoder therefore
embeds [clip_project(prefix), wte(input_ids)] and returns the logits from position 1 on (the position-0
output, DeCap's SOT prediction, is dropped): the same sequence as DeCap's own loop whenever its first greedy
token is SOT, which is what it was trained to emit. The output vocabulary is cut to the pack tokenizer's size
(49,408 for CLIP): rows above it are not CLIP tokens (untrained in DeCap), and the engine cannot decode them.

[Note: state_dict keys] Required: `clip_project.model.0.{weight,bias}`, `decoder.transformer.{wte,wpe}.weight`,
per layer i `decoder.transformer.h.i.{ln_1,ln_2}.{weight,bias}`, `...attn.c_attn.{weight,bias}`,
`...attn.c_proj.{weight,bias}`, `...mlp.c_fc.{weight,bias}`, `...mlp.c_proj.{weight,bias}` (GPT-2's Conv1D:
weight [in, out], y = x·W + b; c_attn's output is q | k | v), `decoder.transformer.ln_f.{weight,bias}`.
Tolerated: `decoder.lm_head.weight` (must equal wte: tied), the attention buffers `...attn.bias` (the causal
mask, must be lower-triangular) and `...attn.masked_bias` that older transformers versions saved, and a
`module.` prefix (DDP). Anything else, a missing key or another shape is refused with the key named.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

LAYERS, HEADS, WIDTH, DIM, VOCAB, POSITIONS = 4, 4, 768, 512, 50257, 1024
SOT, EOT = 49406, 49407
CLIP_VOCAB = 49408
EPS = 1e-5


def expected_shapes(layers: int = LAYERS, width: int = WIDTH, dim: int = DIM, vocab: int = VOCAB, positions: int = POSITIONS) -> dict:
    """Every parameter key of DeCap's state_dict with its shape."""
    s = {"clip_project.model.0.weight": (width, dim), "clip_project.model.0.bias": (width,),
         "decoder.transformer.wte.weight": (vocab, width), "decoder.transformer.wpe.weight": (positions, width),
         "decoder.transformer.ln_f.weight": (width,), "decoder.transformer.ln_f.bias": (width,)}
    for i in range(layers):
        h = f"decoder.transformer.h.{i}."
        s.update({h + "ln_1.weight": (width,), h + "ln_1.bias": (width,), h + "ln_2.weight": (width,), h + "ln_2.bias": (width,),
                  h + "attn.c_attn.weight": (width, 3 * width), h + "attn.c_attn.bias": (3 * width,),
                  h + "attn.c_proj.weight": (width, width), h + "attn.c_proj.bias": (width,),
                  h + "mlp.c_fc.weight": (width, 4 * width), h + "mlp.c_fc.bias": (4 * width,),
                  h + "mlp.c_proj.weight": (4 * width, width), h + "mlp.c_proj.bias": (width,)})
    return s


class DeCapFormatError(ValueError):
    pass


def check_state_dict(sd: dict, layers: int = LAYERS) -> dict:
    """Validate a loaded DeCap state_dict (see [Note: state_dict keys]); returns the parameters by key, float32."""
    if not isinstance(sd, dict):
        raise DeCapFormatError(f"expected a state_dict (a dict of tensors), got {type(sd).__name__}")
    if sd and all(isinstance(k, str) and k.startswith("module.") for k in sd):
        sd = {k[len("module."):]: v for k, v in sd.items()}
    want = expected_shapes(layers)
    out = {}
    for k, shape in want.items():
        if k not in sd:
            raise DeCapFormatError(f"missing key {k} (not DeCap's decoder layout)")
        t = sd[k]
        if not isinstance(t, torch.Tensor) or tuple(t.shape) != shape:
            got = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise DeCapFormatError(f"{k}: shape {got}, DeCap's is {shape}")
        if not torch.is_floating_point(t) or not torch.isfinite(t).all():
            raise DeCapFormatError(f"{k}: not finite floating-point values")
        out[k] = t.detach().float()
    for k, t in sd.items():
        if k in want:
            continue
        if k == "decoder.lm_head.weight":
            if not isinstance(t, torch.Tensor) or tuple(t.shape) != want["decoder.transformer.wte.weight"] or not torch.equal(t.float(), out["decoder.transformer.wte.weight"]):
                raise DeCapFormatError("decoder.lm_head.weight differs from decoder.transformer.wte.weight (DeCap ties them)")
            continue
        parts = k.split(".")
        if len(parts) == 6 and parts[:3] == ["decoder", "transformer", "h"] and parts[3].isdigit() and int(parts[3]) < layers and parts[4] == "attn":
            if parts[5] == "masked_bias":
                continue
            if parts[5] == "bias" and isinstance(t, torch.Tensor) and t.dim() == 4:
                n = t.shape[-1]
                m = t.reshape(-1, n, n)[0].bool()
                if not torch.equal(m, torch.tril(torch.ones(n, n, dtype=torch.bool))):
                    raise DeCapFormatError(f"{k}: the causal-mask buffer is not lower-triangular")
                continue
        raise DeCapFormatError(f"unexpected key {k} (not DeCap's decoder layout)")
    return out


def load_decap(path: str, layers: int = LAYERS) -> dict:
    """torch.load with weights_only=True (tensors and plain containers only: no code runs), then check_state_dict."""
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a pickle with objects, a truncated file, not a torch file
        raise DeCapFormatError(f"{path}: cannot be read as a weights-only state_dict ({type(e).__name__}: {e})") from e
    return check_state_dict(sd, layers)


class LayerNorm(nn.LayerNorm):
    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)


class Conv1D(nn.Module):
    """GPT-2's linear layer: weight [in, out], y = x·W + b."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return torch.matmul(x, self.weight) + self.bias


class GPT2Block(nn.Module):
    """x + attn(ln_1(x)), then + mlp(ln_2(x)) with gelu_new; forward_kv is the interface of decoder_cache.py."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.ln_1 = LayerNorm(width, eps=EPS)
        self.c_attn = Conv1D(width, 3 * width)
        self.c_proj = Conv1D(width, width)
        self.ln_2 = LayerNorm(width, eps=EPS)
        self.c_fc = Conv1D(width, 4 * width)
        self.mlp_proj = Conv1D(4 * width, width)

    def forward_kv(self, x, bias=None, past_k=None, past_v=None):
        B, T, C = x.shape
        h = self.heads
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.reshape(B, T, h, C // h).transpose(1, 2) for t in (q, k, v))
        if past_k is not None:
            k = torch.cat([past_k, k], dim=2)
            v = torch.cat([past_v, v], dim=2)
        s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(C // h)
        if bias is not None:
            s = s + bias
        a = torch.softmax(s, dim=-1)
        y = torch.matmul(a, v).transpose(1, 2).reshape(B, T, C)
        x = x + self.c_proj(y)
        x = x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))
        return x, a, k, v


class TiedHead(nn.Module):
    """logits = x · wte[:vocab]ᵀ (GPT-2's lm_head is the token embedding)."""

    def __init__(self, tok: nn.Embedding):
        super().__init__()
        self.tok = tok

    def forward(self, x):
        return torch.matmul(x, self.tok.weight.t())


class DeCapDecoder(nn.Module):
    """prefix [B, 512] + input_ids [B, T] (starting with SOT) -> logits [B, T, vocab]; see the module notes.
    Attribute names follow models.Decoder (prefix, tok, pos, blocks, ln_f, head, prefix_len, width, cfg), so
    decoder_cache.export_cached writes its KV-cache graphs."""

    def __init__(self, vocab: int = CLIP_VOCAB, layers: int = LAYERS, heads: int = HEADS, width: int = WIDTH, dim: int = DIM, positions: int = POSITIONS):
        super().__init__()
        self.prefix_len = 1
        self.width = width
        self.prefix = nn.Linear(dim, width)
        self.tok = nn.Embedding(vocab, width)
        self.pos = nn.Parameter(torch.zeros(positions, width))
        self.blocks = nn.ModuleList([GPT2Block(width, heads) for _ in range(layers)])
        self.ln_f = LayerNorm(width, eps=EPS)
        self.head = TiedHead(self.tok)
        self.cfg = {"dim": dim, "width": width, "layers": layers, "heads": heads, "prefix_len": 1, "ctx": positions - 1, "vocab": vocab}

    @staticmethod
    def from_state_dict(params: dict, vocab: int = CLIP_VOCAB) -> "DeCapDecoder":
        """Our module from check_state_dict's output; the vocabulary is cut to `vocab` rows (<= 50257)."""
        wte = params["decoder.transformer.wte.weight"]
        if not 0 < vocab <= wte.shape[0]:
            raise DeCapFormatError(f"vocabulary {vocab} does not fit DeCap's {wte.shape[0]} token rows")
        layers = sum(1 for k in params if k.endswith(".ln_1.weight"))
        m = DeCapDecoder(vocab, layers, HEADS, wte.shape[1], params["clip_project.model.0.weight"].shape[1], params["decoder.transformer.wpe.weight"].shape[0])
        with torch.no_grad():
            m.prefix.weight.copy_(params["clip_project.model.0.weight"])
            m.prefix.bias.copy_(params["clip_project.model.0.bias"])
            m.tok.weight.copy_(wte[:vocab])
            m.pos.copy_(params["decoder.transformer.wpe.weight"])
            m.ln_f.weight.copy_(params["decoder.transformer.ln_f.weight"])
            m.ln_f.bias.copy_(params["decoder.transformer.ln_f.bias"])
            for i, b in enumerate(m.blocks):
                h = f"decoder.transformer.h.{i}."
                for ours, theirs in (("ln_1", "ln_1"), ("ln_2", "ln_2"), ("c_attn", "attn.c_attn"), ("c_proj", "attn.c_proj"),
                                     ("c_fc", "mlp.c_fc"), ("mlp_proj", "mlp.c_proj")):
                    getattr(b, ours).weight.copy_(params[h + theirs + ".weight"])
                    getattr(b, ours).bias.copy_(params[h + theirs + ".bias"])
        return m.eval()

    def forward(self, prefix, input_ids):
        B, T = input_ids.shape
        x = torch.cat([self.prefix(prefix).reshape(B, 1, self.width), self.tok(input_ids)], dim=1)
        x = x + self.pos[: T + 1]
        i = torch.arange(T + 1)
        causal = ((i[None, :] > i[:, None]).to(x.dtype) * -1e4)[None, None]
        for blk in self.blocks:
            x, _, _, _ = blk.forward_kv(x, causal)
        return self.head(self.ln_f(x[:, 1:]))


def random_state_dict(seed: int = 0, layers: int = LAYERS, std: float = 0.02, buffers: bool = True) -> dict:
    """A random state_dict with DeCap's exact keys, shapes and (with `buffers`) the attention buffers and tied
    lm_head that transformers 4.2x saves: for tests only."""
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for k, shape in expected_shapes(layers).items():
        if k.endswith("ln_1.weight") or k.endswith("ln_2.weight") or k.endswith("ln_f.weight"):
            sd[k] = 1.0 + 0.1 * torch.randn(shape, generator=g)
        else:
            sd[k] = std * torch.randn(shape, generator=g)
    if buffers:
        mask = torch.tril(torch.ones(POSITIONS, POSITIONS, dtype=torch.uint8)).view(1, 1, POSITIONS, POSITIONS)
        for i in range(layers):
            sd[f"decoder.transformer.h.{i}.attn.bias"] = mask
            sd[f"decoder.transformer.h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
        sd["decoder.lm_head.weight"] = sd["decoder.transformer.wte.weight"]
    return sd
