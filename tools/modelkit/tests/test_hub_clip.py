"""export_hub_clip.py: the random-weight CLIP in the transformers.js hub layout (Xenova/clip-vit-base-patch32).

Graph I/O (names, dtypes, dynamic axes), HF parameter names and structure, EOT pooling, unnormalised embeddings,
the patch-route reference against an independent recomputation, the 8-bit rewrite, and byte-identical
exports for the same seed. Runs in ~30 s at the small default sizes (three exports in fresh processes).
"""
import contextlib
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

KIT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, KIT)

try:
    import numpy as np
    import onnx
    import torch
    from onnx import numpy_helper
except ImportError:  # CI installs only numpy and PIL
    torch = None

VOCAB = 300


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def read(path):
    with open(path) as f:
        return f.read()


def load_json(path):
    return json.loads(read(path))


def export(out, *extra):
    res = subprocess.run([sys.executable, os.path.join(KIT, "export_hub_clip.py"), "--out", out, "--vocab-size", str(VOCAB), *extra],
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(res.stdout + res.stderr)
    return json.loads(res.stdout.strip().splitlines()[-1])


def dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


@unittest.skipUnless(torch is not None, "PyTorch/onnx are not installed (apt install python3-torch python3-onnx)")
class TestHubClip(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import export_hub_clip as ehc
        cls.ehc = ehc
        cls.tmp = tempfile.TemporaryDirectory()
        cls.plain, cls.q1, cls.q2 = (os.path.join(cls.tmp.name, n) for n in ("plain", "int8-a", "int8-b"))
        export(cls.plain)
        export(cls.q1, "--int8")
        export(cls.q2, "--int8")
        torch.set_num_threads(1)
        cls.vision, cls.text = ehc.build_models(ehc.parse_args(["--out", "x", "--vocab-size", str(VOCAB)]))
        cls.vg = onnx.load(os.path.join(cls.plain, "onnx", "vision_model_quantized.onnx"))
        cls.tg = onnx.load(os.path.join(cls.plain, "onnx", "text_model_quantized.onnx"))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def ids(self, rows):
        return self.ehc.sample_ids(VOCAB, rows, 7)

    # graphs

    def test_graph_io_names_shapes_dtypes(self):
        f32, i64 = onnx.TensorProto.FLOAT, onnx.TensorProto.INT64
        for g, inp, out, idims, itype, odims in ((self.vg, "pixel_values", "image_embeds", ["batch_size", 3, 224, 224], f32, ["batch_size", 512]),
                                                  (self.tg, "input_ids", "text_embeds", ["batch_size", "sequence_length"], i64, ["batch_size", 512])):
            onnx.checker.check_model(g)
            self.assertEqual([i.name for i in g.graph.input], [inp])
            self.assertEqual([o.name for o in g.graph.output], [out])  # nothing else (no tokens, no attention)
            self.assertEqual(dims(g.graph.input[0]), idims)
            self.assertEqual(g.graph.input[0].type.tensor_type.elem_type, itype)
            self.assertEqual(dims(g.graph.output[0]), odims)
            self.assertEqual(g.graph.output[0].type.tensor_type.elem_type, f32)
            self.assertEqual(max(o.version for o in g.opset_import if o.domain in ("", "ai.onnx")), 14)

    def test_graph_structure_like_the_hf_export(self):
        for g, layers, prefix in ((self.vg, 2, "vision_model"), (self.tg, 2, "text_model")):
            softmax = [n.name for n in g.graph.node if n.op_type == "Softmax"]
            self.assertEqual(softmax, [f"/{prefix}/encoder/layers.{i}/self_attn/Softmax" for i in range(layers)])
            # projection included and not normalised: the graph output is produced by a MatMul with a constant B
            producer = next(n for n in g.graph.node if n.output[0] == g.graph.output[0].name)
            self.assertEqual(producer.op_type, "MatMul")
            self.assertFalse({"ReduceL2", "LpNormalization"} & {n.op_type for n in g.graph.node})
        inits = {t.name: t for t in self.vg.graph.initializer}
        for name in ("vision_model.embeddings.class_embedding", "vision_model.embeddings.patch_embedding.weight",
                     "vision_model.embeddings.position_embedding.weight", "vision_model.pre_layrnorm.weight",
                     "vision_model.post_layernorm.weight", "vision_model.post_layernorm.bias"):
            self.assertIn(name, inits)
        # the projection B of the image_embeds MatMul is visual_projection.weight transposed (torch folds the
        # transpose into an onnx::MatMul_N constant, as in optimum's exports)
        producer = next(n for n in self.vg.graph.node if n.output[0] == "image_embeds")
        np.testing.assert_array_equal(numpy_helper.to_array(inits[producer.input[1]]), self.vision.visual_projection.weight.detach().numpy().T)
        np.testing.assert_array_equal(numpy_helper.to_array(inits["vision_model.post_layernorm.bias"]),
                                      self.vision.vision_model.post_layernorm.bias.detach().numpy())
        self.assertIn("text_model.embeddings.token_embedding.weight", {t.name for t in self.tg.graph.initializer})
        self.assertEqual(list(next(t for t in self.tg.graph.initializer if t.name == "text_model.embeddings.token_embedding.weight").dims), [VOCAB, 64])

    def test_int8_graphs(self):
        for f, wtype, integer_ops in (("vision_model_quantized.onnx", onnx.TensorProto.UINT8, {"MatMulInteger": 13, "ConvInteger": 1}),
                                      ("text_model_quantized.onnx", onnx.TensorProto.INT8, {"MatMulInteger": 13})):
            q = onnx.load(os.path.join(self.q1, "onnx", f))
            onnx.checker.check_model(q)
            fp = onnx.load(os.path.join(self.q1, "onnx", f.replace("_quantized", "")))
            self.assertEqual([(i.name, dims(i)) for i in q.graph.input], [(i.name, dims(i)) for i in fp.graph.input])
            self.assertEqual([(o.name, dims(o)) for o in q.graph.output], [(o.name, dims(o)) for o in fp.graph.output])
            ops = [n.op_type for n in q.graph.node]
            for op, n in integer_ops.items():
                self.assertEqual(ops.count(op), n, op)
            inits = {t.name: t for t in q.graph.initializer}
            # no float MatMul with a constant weight is left; the attention MatMuls (both inputs computed) stay float
            self.assertEqual([n for n in q.graph.node if n.op_type == "MatMul" and n.input[1] in inits], [])
            self.assertEqual(ops.count("MatMul"), 4)
            for n in q.graph.node:
                if n.op_type in ("MatMulInteger", "ConvInteger"):
                    self.assertEqual(inits[n.input[1]].data_type, wtype)
                    self.assertTrue(n.input[0].endswith("_quantized"))
            # the embedding tables are 8-bit and dequantized after the Gather
            self.assertGreaterEqual(ops.count("DequantizeLinear"), 1)
            self.assertLess(os.path.getsize(os.path.join(self.q1, "onnx", f)), 0.45 * os.path.getsize(os.path.join(self.q1, "onnx", f.replace("_quantized", ""))))

    def test_weight_quantization_error_is_within_half_a_step(self):
        from hub_int8 import quantize_weight
        w = np.random.default_rng(0).normal(0, 0.05, (64, 96)).astype(np.float32)
        for wtype in ("uint8", "int8"):
            q, scale, zp = quantize_weight(w, wtype)
            back = (q.astype(np.float32) - zp.astype(np.float32)) * scale
            self.assertLessEqual(np.abs(back - w).max(), scale / 2 + 1e-7)
        self.assertEqual(int(quantize_weight(w, "int8")[2]), 0)

    def test_same_seed_gives_byte_identical_files(self):
        for f in ("vision_model.onnx", "text_model.onnx", "vision_model_quantized.onnx", "text_model_quantized.onnx"):
            self.assertEqual(sha(os.path.join(self.q1, "onnx", f)), sha(os.path.join(self.q2, "onnx", f)), f)
        # the fp32 graph of an --int8 export is the file a plain export writes under the quantized name
        for m in ("vision_model", "text_model"):
            self.assertEqual(sha(os.path.join(self.plain, "onnx", m + "_quantized.onnx")), sha(os.path.join(self.q1, "onnx", m + ".onnx")))
        self.assertEqual(read(os.path.join(self.q1, "MANIFEST.json")), read(os.path.join(self.q2, "MANIFEST.json")))
        # and another seed gives other weights
        other = self.ehc.build_models(self.ehc.parse_args(["--out", "x", "--vocab-size", str(VOCAB), "--seed", "1"]))[0]
        self.assertFalse(torch.equal(other.visual_projection.weight, self.vision.visual_projection.weight))

    # files

    def test_configs_and_manifest(self):
        pre = load_json(os.path.join(self.plain, "preprocessor_config.json"))
        self.assertEqual(pre, {"crop_size": 224, "do_center_crop": True, "do_normalize": True, "do_resize": True, "do_rescale": True,
                               "rescale_factor": 1 / 255, "image_mean": [0.48145466, 0.4578275, 0.40821073],
                               "image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3, "size": {"shortest_edge": 224},
                               "feature_extractor_type": "CLIPFeatureExtractor", "image_processor_type": "CLIPImageProcessor"})
        tok = load_json(os.path.join(self.plain, "tokenizer_config.json"))
        for k, v in {"model_max_length": 77, "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
                     "unk_token": "<|endoftext|>", "do_lower_case": True, "tokenizer_class": "CLIPTokenizer"}.items():
            self.assertEqual(tok[k], v, k)
        cfg = load_json(os.path.join(self.plain, "config.json"))
        self.assertEqual((cfg["model_type"], cfg["projection_dim"]), ("clip", 512))
        self.assertEqual({k: cfg["vision_config"][k] for k in ("hidden_size", "num_hidden_layers", "num_attention_heads", "image_size",
                                                             "patch_size", "intermediate_size", "hidden_act")},
                         {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "image_size": 224, "patch_size": 32,
                          "intermediate_size": 256, "hidden_act": "quick_gelu"})
        t = cfg["text_config"]
        self.assertEqual((t["vocab_size"], t["max_position_embeddings"], t["eos_token_id"], t["bos_token_id"]), (VOCAB, 77, VOCAB - 1, VOCAB - 2))
        for d in (self.plain, self.q1):
            man = load_json(os.path.join(d, "MANIFEST.json"))
            on_disk = sorted(os.path.relpath(os.path.join(r, f), d) for r, _, fs in os.walk(d) for f in fs if f != "MANIFEST.json")
            self.assertEqual([e["path"] for e in man["files"]], on_disk)
            for e in man["files"]:
                p = os.path.join(d, e["path"])
                self.assertEqual((e["bytes"], e["sha256"]), (os.path.getsize(p), sha(p)), e["path"])
        self.assertEqual([e["path"] for e in load_json(os.path.join(self.plain, "MANIFEST.json"))["files"]],
                         ["config.json", "onnx/text_model_quantized.onnx", "onnx/vision_model_quantized.onnx", "preprocessor_config.json",
                          "tokenizer_config.json"])

    def test_bad_arguments_are_refused(self):
        for argv in (["--vocab-size", "2"], ["--vocab-size", "300", "--width", "66"], ["--vocab-size", "300", "--text-heads", "5"],
                     ["--vocab-size", "300", "--layers", "0"]):
            with self.assertRaises(SystemExit, msg=argv), contextlib.redirect_stderr(io.StringIO()) as err:
                self.ehc.parse_args(["--out", "x", *argv])
            self.assertIn("error", err.getvalue())
        full = self.ehc.parse_args(["--out", "x", "--vocab-size", "49408", "--full-size"])
        self.assertEqual((full.width, full.layers, full.heads, full.text_width, full.text_layers, full.text_heads), (768, 12, 12, 512, 12, 8))

    # torch modules

    def test_parameter_names_are_the_hf_names(self):
        layer = r"encoder\.layers\.[01]\.(self_attn\.(q|k|v|out)_proj\.(weight|bias)|layer_norm[12]\.(weight|bias)|mlp\.fc[12]\.(weight|bias))"
        vision_re = re.compile(rf"vision_model\.(embeddings\.(class_embedding|patch_embedding\.weight|position_embedding\.weight)|"
                               rf"pre_layrnorm\.(weight|bias)|{layer}|post_layernorm\.(weight|bias))|visual_projection\.weight")
        text_re = re.compile(rf"text_model\.(embeddings\.(token|position)_embedding\.weight|{layer}|final_layer_norm\.(weight|bias))|text_projection\.weight")
        for model, rx, count in ((self.vision, vision_re, 3 + 2 + 2 * 16 + 2 + 1), (self.text, text_re, 2 + 2 * 16 + 2 + 1)):
            names = [n for n, _ in model.named_parameters()]
            self.assertEqual([n for n in names if not rx.fullmatch(n)], [])
            self.assertEqual(len(names), count)
        self.assertIsNone(self.vision.visual_projection.bias)
        self.assertIsNone(self.text.text_projection.bias)
        self.assertIsNone(self.vision.vision_model.embeddings.patch_embedding.bias)
        self.assertEqual(tuple(self.vision.vision_model.embeddings.position_embedding.weight.shape), (50, 64))
        mlp = self.vision.vision_model.encoder.layers[0].mlp
        x = torch.randn(3, 64)
        h = mlp.fc1(x)
        torch.testing.assert_close(mlp(x), mlp.fc2(h * torch.sigmoid(1.702 * h)))  # quick_gelu

    @torch.no_grad()
    def test_text_embeds_pool_at_the_eot_token(self):
        ids = self.ids([6, 9])
        base = self.text(ids)
        self.assertEqual(tuple(base.shape), (2, 512))
        after = ids.clone()
        after[0, 7] = 5  # a token after row 0's EOT (position 5): causal mask, so no effect
        torch.testing.assert_close(self.text(after), base, atol=1e-6, rtol=0)
        moved = ids.clone()
        moved[0, 5] = 5
        moved[0, 7] = VOCAB - 1  # the EOT now at position 7
        self.assertGreater((self.text(moved)[0] - base[0]).abs().max().item(), 1e-3)
        torch.testing.assert_close(self.text(moved)[1], base[1], atol=1e-6, rtol=0)
        # a row gives the same embedding alone, at its own length, as in a padded batch
        torch.testing.assert_close(self.text(ids[:1, :6])[0], base[0], atol=1e-5, rtol=1e-5)
        self.assertEqual(tuple(self.text(self.ids([77, 3])).shape), (2, 512))

    @torch.no_grad()
    def test_image_embeds_are_not_normalised_and_batch_independent(self):
        px = torch.randn(3, 3, 224, 224, generator=torch.Generator().manual_seed(2))
        e = self.vision(px)
        self.assertEqual(tuple(e.shape), (3, 512))
        self.assertTrue(((e.norm(dim=-1) - 1).abs() > 0.5).all(), e.norm(dim=-1))
        torch.testing.assert_close(self.vision(px[1:2])[0], e[1], atol=1e-5, rtol=1e-5)

    @torch.no_grad()
    def test_reference_outputs_against_an_independent_recomputation(self):
        from hf_clip import reference_outputs
        vm = self.vision.vision_model
        px = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(4))
        seen = {}
        last = vm.encoder.layers[-1]
        hooks = [last.layer_norm1.register_forward_hook(lambda m, i, o: seen.__setitem__("ln1", o)),
                 vm.encoder.register_forward_hook(lambda m, i, o: seen.__setitem__("tokens", o[0]))]
        try:
            ref = reference_outputs(self.vision, px)
        finally:
            for h in hooks:
                h.remove()
        torch.testing.assert_close(ref["image_embeds"], self.vision(px))
        self.assertEqual(tuple(ref["token_embeds"].shape), (2, 50, 512))
        self.assertEqual(tuple(ref["cls_attention"].shape), (2, 50))
        torch.testing.assert_close(ref["token_embeds"][:, 0], ref["image_embeds"], atol=1e-5, rtol=1e-5)
        # CLS row of the last layer's softmax(q kᵀ / sqrt(d)), averaged over the 4 heads, from the layer's input
        att = last.self_attn
        q = att.q_proj(seen["ln1"]).view(2, 50, 4, 16).transpose(1, 2)
        k = att.k_proj(seen["ln1"]).view(2, 50, 4, 16).transpose(1, 2)
        probs = torch.softmax(q @ k.transpose(-1, -2) / 4.0, dim=-1)
        torch.testing.assert_close(ref["cls_attention"], probs[:, :, 0, :].mean(dim=1), atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(ref["cls_attention"].sum(-1), torch.ones(2))
        w, b = vm.post_layernorm.weight, vm.post_layernorm.bias
        t = seen["tokens"]
        normed = (t - t.mean(-1, keepdim=True)) / torch.sqrt(t.var(-1, unbiased=False, keepdim=True) + 1e-5) * w + b
        torch.testing.assert_close(ref["token_embeds"], normed @ self.vision.visual_projection.weight.T, atol=1e-5, rtol=1e-5)


if __name__ == "__main__":
    unittest.main()
