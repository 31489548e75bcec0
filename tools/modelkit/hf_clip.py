"""CLIP towers named and structured like Hugging Face's CLIPVisionModelWithProjection / CLIPTextModelWithProjection
(eager attention), random weights, and the torch reference of what a patch-route graph surgery must expose.

Runs in the model kit (Python, torch). Used by export_hub_clip.py; no transformers package needed.

[Note: HF structure] The module tree, parameter names (incl. HF's `pre_layrnorm` spelling) and the forward pass
follow transformers' modeling_clip.py in its eager form: q_proj(x)·head_dim^-0.5, bmm(q, kᵀ), + causal mask
(text), explicit softmax, bmm(p, v), out_proj; pre-norm encoder layers (layer_norm1 → attention → residual,
layer_norm2 → fc1 → quick_gelu → fc2 → residual); vision: conv patch stem without bias, CLS token, learned
positions, pre_layrnorm, encoder, post_layernorm on the CLS state only, visual_projection (no bias); text:
token + position embeddings, causal encoder, final_layer_norm, pooled at argmax(input_ids) (the EOT token, the
highest id in CLIP's vocabulary), text_projection (no bias). torch.onnx.export of these modules gives the kind of
graph optimum's exporter gives for the real weights (same ops in the same order; only width/depth differ).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

PROJECTION_DIM = 512
LAYER_NORM_EPS = 1e-5


@dataclass(frozen=True)
class TowerConfig:
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


class CLIPAttention(nn.Module):
    def __init__(self, cfg: TowerConfig):
        super().__init__()
        self.embed_dim = cfg.hidden_size
        self.num_heads = cfg.num_attention_heads
        self.head_dim = self.embed_dim // self.num_heads
        if self.head_dim * self.num_heads != self.embed_dim:
            raise ValueError(f"hidden_size {self.embed_dim} is not divisible by num_attention_heads {self.num_heads}")
        self.scale = self.head_dim ** -0.5
        self.k_proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.v_proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.q_proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.out_proj = nn.Linear(self.embed_dim, self.embed_dim)

    def _shape(self, t, seq_len: int, bsz: int):
        return t.view(bsz, seq_len, self.num_heads, self.head_dim).transpose(1, 2).contiguous()

    def forward(self, hidden_states, causal_attention_mask=None):
        """Returns (output [B,T,D], attention probabilities [B,H,T,T])."""
        bsz, tgt_len, embed_dim = hidden_states.size()
        query_states = self.q_proj(hidden_states) * self.scale
        key_states = self._shape(self.k_proj(hidden_states), -1, bsz)
        value_states = self._shape(self.v_proj(hidden_states), -1, bsz)
        proj_shape = (bsz * self.num_heads, -1, self.head_dim)
        query_states = self._shape(query_states, tgt_len, bsz).view(*proj_shape)
        key_states = key_states.view(*proj_shape)
        value_states = value_states.view(*proj_shape)
        src_len = key_states.size(1)
        attn_weights = torch.bmm(query_states, key_states.transpose(1, 2))
        if causal_attention_mask is not None:
            attn_weights = attn_weights.view(bsz, self.num_heads, tgt_len, src_len) + causal_attention_mask
            attn_weights = attn_weights.view(bsz * self.num_heads, tgt_len, src_len)
        attn_weights = nn.functional.softmax(attn_weights, dim=-1)
        probs = attn_weights.view(bsz, self.num_heads, tgt_len, src_len)
        attn_output = torch.bmm(attn_weights, value_states)
        attn_output = attn_output.view(bsz, self.num_heads, tgt_len, self.head_dim).transpose(1, 2)
        attn_output = attn_output.reshape(bsz, tgt_len, embed_dim)
        return self.out_proj(attn_output), probs


class CLIPMLP(nn.Module):
    def __init__(self, cfg: TowerConfig):
        super().__init__()
        self.fc1 = nn.Linear(cfg.hidden_size, cfg.intermediate_size)
        self.fc2 = nn.Linear(cfg.intermediate_size, cfg.hidden_size)

    def forward(self, x):
        return self.fc2(quick_gelu(self.fc1(x)))


class CLIPEncoderLayer(nn.Module):
    def __init__(self, cfg: TowerConfig):
        super().__init__()
        self.self_attn = CLIPAttention(cfg)
        self.layer_norm1 = nn.LayerNorm(cfg.hidden_size, eps=LAYER_NORM_EPS)
        self.mlp = CLIPMLP(cfg)
        self.layer_norm2 = nn.LayerNorm(cfg.hidden_size, eps=LAYER_NORM_EPS)

    def forward(self, hidden_states, causal_attention_mask=None):
        residual = hidden_states
        hidden_states, probs = self.self_attn(self.layer_norm1(hidden_states), causal_attention_mask)
        hidden_states = residual + hidden_states
        residual = hidden_states
        hidden_states = residual + self.mlp(self.layer_norm2(hidden_states))
        return hidden_states, probs


class CLIPEncoder(nn.Module):
    def __init__(self, cfg: TowerConfig):
        super().__init__()
        self.layers = nn.ModuleList([CLIPEncoderLayer(cfg) for _ in range(cfg.num_hidden_layers)])

    def forward(self, inputs_embeds, causal_attention_mask=None):
        """Returns (last hidden state, attention probabilities of the last layer [B,H,T,T])."""
        hidden_states, probs = inputs_embeds, None
        for layer in self.layers:
            hidden_states, probs = layer(hidden_states, causal_attention_mask)
        return hidden_states, probs


class CLIPVisionEmbeddings(nn.Module):
    def __init__(self, cfg: TowerConfig, image_size: int, patch_size: int):
        super().__init__()
        d = cfg.hidden_size
        self.class_embedding = nn.Parameter(torch.zeros(d))
        self.patch_embedding = nn.Conv2d(3, d, kernel_size=patch_size, stride=patch_size, bias=False)
        self.num_patches = (image_size // patch_size) ** 2
        self.num_positions = self.num_patches + 1
        self.position_embedding = nn.Embedding(self.num_positions, d)
        self.register_buffer("position_ids", torch.arange(self.num_positions).expand((1, -1)), persistent=False)

    def forward(self, pixel_values):
        batch_size = pixel_values.shape[0]
        patch_embeds = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)
        class_embeds = self.class_embedding.expand(batch_size, 1, -1)
        embeddings = torch.cat([class_embeds, patch_embeds], dim=1)
        return embeddings + self.position_embedding(self.position_ids)


class CLIPVisionTransformer(nn.Module):
    def __init__(self, cfg: TowerConfig, image_size: int = 224, patch_size: int = 32):
        super().__init__()
        self.embeddings = CLIPVisionEmbeddings(cfg, image_size, patch_size)
        self.pre_layrnorm = nn.LayerNorm(cfg.hidden_size, eps=LAYER_NORM_EPS)
        self.encoder = CLIPEncoder(cfg)
        self.post_layernorm = nn.LayerNorm(cfg.hidden_size, eps=LAYER_NORM_EPS)

    def forward(self, pixel_values):
        """Returns (last_hidden_state [B,50,D] before post_layernorm, pooled = post_layernorm(CLS), last probs)."""
        hidden_states = self.pre_layrnorm(self.embeddings(pixel_values))
        last_hidden_state, probs = self.encoder(hidden_states)
        pooled_output = self.post_layernorm(last_hidden_state[:, 0, :])
        return last_hidden_state, pooled_output, probs


class CLIPVisionModelWithProjection(nn.Module):
    def __init__(self, cfg: TowerConfig, projection_dim: int = PROJECTION_DIM):
        super().__init__()
        self.config = cfg
        self.vision_model = CLIPVisionTransformer(cfg)
        self.visual_projection = nn.Linear(cfg.hidden_size, projection_dim, bias=False)

    def forward(self, pixel_values):
        """image_embeds [B, projection_dim], not normalised (the only output of the real export)."""
        _, pooled, _ = self.vision_model(pixel_values)
        return self.visual_projection(pooled)


class CLIPTextEmbeddings(nn.Module):
    def __init__(self, cfg: TowerConfig, vocab_size: int, max_position_embeddings: int):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab_size, cfg.hidden_size)
        self.position_embedding = nn.Embedding(max_position_embeddings, cfg.hidden_size)
        self.register_buffer("position_ids", torch.arange(max_position_embeddings).expand((1, -1)), persistent=False)

    def forward(self, input_ids):
        seq_length = input_ids.shape[-1]
        position_ids = self.position_ids[:, :seq_length]
        return self.token_embedding(input_ids) + self.position_embedding(position_ids)


def causal_mask(bsz: int, seq_len: int, dtype=torch.float32):
    """[B,1,T,T]: 0 on and below the diagonal, the dtype's lowest value above it (HF's causal mask)."""
    mask = torch.empty(bsz, seq_len, seq_len, dtype=dtype)
    mask.fill_(torch.finfo(dtype).min)
    mask.triu_(1)
    return mask.unsqueeze(1)


class CLIPTextTransformer(nn.Module):
    def __init__(self, cfg: TowerConfig, vocab_size: int, max_position_embeddings: int = 77):
        super().__init__()
        self.embeddings = CLIPTextEmbeddings(cfg, vocab_size, max_position_embeddings)
        self.encoder = CLIPEncoder(cfg)
        self.final_layer_norm = nn.LayerNorm(cfg.hidden_size, eps=LAYER_NORM_EPS)

    def forward(self, input_ids):
        bsz, seq_len = input_ids.shape
        hidden_states = self.embeddings(input_ids)
        mask = causal_mask(bsz, seq_len, hidden_states.dtype)
        last_hidden_state, _ = self.encoder(hidden_states, mask)
        last_hidden_state = self.final_layer_norm(last_hidden_state)
        # pooled at the EOT token: the highest id of each row
        pooled_output = last_hidden_state[torch.arange(last_hidden_state.shape[0]), input_ids.to(torch.int).argmax(dim=-1)]
        return last_hidden_state, pooled_output


class CLIPTextModelWithProjection(nn.Module):
    def __init__(self, cfg: TowerConfig, vocab_size: int, max_position_embeddings: int = 77, projection_dim: int = PROJECTION_DIM):
        super().__init__()
        self.config = cfg
        self.text_model = CLIPTextTransformer(cfg, vocab_size, max_position_embeddings)
        self.text_projection = nn.Linear(cfg.hidden_size, projection_dim, bias=False)

    def forward(self, input_ids):
        """text_embeds [B, projection_dim], not normalised."""
        _, pooled = self.text_model(input_ids)
        return self.text_projection(pooled)


def randomise(model: nn.Module, seed: int):
    """Seeded random weights of roughly CLIP's scales (HF's _init_weights: N(0, 0.02) embeddings, d^-0.5-scaled
    projections). Biases and layer-norm affine parameters are random too (not 0/1), so a misplaced bias or
    norm in an exported graph shows up as a numerical difference."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            if "norm" in name:  # layer_norm1/2, pre_layrnorm, post_layernorm, final_layer_norm
                std, mean = (0.1, 1.0) if leaf == "weight" else (0.02, 0.0)
            elif leaf == "bias":
                std, mean = 0.02, 0.0
            elif name.endswith("class_embedding"):
                std, mean = p.shape[0] ** -0.5, 0.0
            elif "embedding" in name:
                std, mean = 0.02, 0.0
            else:  # Linear weights [out, in] and the projections
                std, mean = p.shape[-1] ** -0.5, 0.0
            p.copy_(torch.randn(p.shape, generator=g) * std + mean)


def tower_config(width: int, layers: int, heads: int) -> TowerConfig:
    return TowerConfig(hidden_size=width, num_hidden_layers=layers, num_attention_heads=heads, intermediate_size=4 * width)


@torch.no_grad()
def reference_outputs(model: CLIPVisionModelWithProjection, pixel_values):
    """The torch reference for the patch route (docs/real-packs.md §2), from the same weights as the export:
    image_embeds [B,512] (= the ONNX output), cls_attention [B,50] (last layer's attention probabilities averaged
    over heads, row of the CLS token) and token_embeds [B,50,512] = visual_projection(post_layernorm(all 50
    last-layer token states)), CLS first, then the 7x7 patches row-major. Row 0 of token_embeds is image_embeds."""
    vm = model.vision_model
    last_hidden_state, pooled, probs = vm(pixel_values)
    return {
        "image_embeds": model.visual_projection(pooled),
        "cls_attention": probs.mean(dim=1)[:, 0, :],
        "token_embeds": model.visual_projection(vm.post_layernorm(last_hidden_state)),
    }


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())

