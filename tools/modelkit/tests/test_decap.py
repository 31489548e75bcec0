"""DeCap importer (decap.py, import_decap.py, add_decoder.py) on a RANDOM state_dict with DeCap's exact keys and
shapes: the layout check and its refusals, weights-only loading, our module against a literal re-reading of
DeCap's forward (HF GPT-2 math straight from the state_dict), and the export: cached == uncached, onnxruntime ==
torch (1e-4), added to a pack with sha256 and provenance."""
import json
import math
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    torch = None


def reference_forward(sd, clip_features, tokens, layers=4, heads=4):
    """DeCap.forward (train.py): GPT2LMHeadModel(inputs_embeds=[clip_project(x), wte(tokens)]), written out."""
    g = lambda k: sd[k].float()
    pre = clip_features @ g("clip_project.model.0.weight").t() + g("clip_project.model.0.bias")
    x = torch.cat([pre[:, None, :], g("decoder.transformer.wte.weight")[tokens]], dim=1)
    n = x.shape[1]
    x = x + g("decoder.transformer.wpe.weight")[:n]
    C = x.shape[-1]
    mask = torch.tril(torch.ones(n, n, dtype=torch.bool))
    for i in range(layers):
        h = f"decoder.transformer.h.{i}."
        a = F.layer_norm(x, (C,), g(h + "ln_1.weight"), g(h + "ln_1.bias"), 1e-5)
        qkv = a @ g(h + "attn.c_attn.weight") + g(h + "attn.c_attn.bias")
        q, k, v = [t.reshape(x.shape[0], n, heads, C // heads).permute(0, 2, 1, 3) for t in qkv.split(C, dim=-1)]
        w = (q @ k.transpose(-1, -2)) / math.sqrt(C // heads)
        w = torch.where(mask, w, torch.tensor(torch.finfo(w.dtype).min))
        y = (w.softmax(-1) @ v).permute(0, 2, 1, 3).reshape(x.shape[0], n, C)
        x = x + y @ g(h + "attn.c_proj.weight") + g(h + "attn.c_proj.bias")
        m = F.layer_norm(x, (C,), g(h + "ln_2.weight"), g(h + "ln_2.bias"), 1e-5) @ g(h + "mlp.c_fc.weight") + g(h + "mlp.c_fc.bias")
        m = 0.5 * m * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (m + 0.044715 * torch.pow(m, 3.0))))  # gelu_new
        x = x + m @ g(h + "mlp.c_proj.weight") + g(h + "mlp.c_proj.bias")
    x = F.layer_norm(x, (C,), g("decoder.transformer.ln_f.weight"), g("decoder.transformer.ln_f.bias"), 1e-5)
    return x @ g("decoder.transformer.wte.weight").t()


def dump(obj, path):
    with open(path, "w") as f:
        json.dump(obj, f)


def load(path):
    with open(path) as f:
        return json.load(f)


class Opaque:
    pass


@unittest.skipUnless(torch is not None, "PyTorch is not installed (apt install python3-torch)")
class TestDeCap(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        from decap import random_state_dict
        torch.set_num_threads(1)
        cls.sd = random_state_dict(seed=1)
        cls.tmp = tempfile.mkdtemp(prefix="decap-test-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_layout_check_accepts_decap_and_refuses_others(self):
        from decap import DeCapFormatError, check_state_dict, expected_shapes
        params = check_state_dict(self.sd)
        self.assertEqual(set(params), set(expected_shapes()))
        self.assertEqual(len(params), 6 + 4 * 12)
        check_state_dict({"module." + k: v for k, v in self.sd.items()})  # saved from the DDP wrapper
        bad = [
            ({k: v for k, v in self.sd.items() if k != "decoder.transformer.h.3.mlp.c_fc.bias"}, "missing key decoder.transformer.h.3.mlp.c_fc.bias"),
            ({**self.sd, "clip_project.model.0.weight": torch.zeros(768, 640)}, "shape (768, 640)"),
            ({**self.sd, "clip_project.model.2.weight": torch.zeros(768, 768)}, "unexpected key clip_project.model.2.weight"),
            ({**self.sd, "decoder.lm_head.weight": torch.zeros(50257, 768)}, "ties them"),
            ({**self.sd, "decoder.transformer.h.0.attn.bias": torch.ones(1, 1, 1024, 1024, dtype=torch.uint8)}, "not lower-triangular"),
            ({**self.sd, "decoder.transformer.ln_f.bias": torch.full((768,), float("nan"))}, "not finite"),
            ([1, 2], "expected a state_dict"),
        ]
        for sd, msg in bad:
            with self.assertRaises(DeCapFormatError) as e:
                check_state_dict(sd)
            self.assertIn(msg, str(e.exception))

    def test_loads_weights_only(self):
        from decap import DeCapFormatError, load_decap
        path = os.path.join(self.tmp, "opaque.pt")
        torch.save({"x": Opaque()}, path)
        with self.assertRaises(DeCapFormatError) as e:
            load_decap(path)
        self.assertIn("weights-only", str(e.exception))

    def test_module_matches_decap_forward(self):
        from decap import CLIP_VOCAB, SOT, DeCapDecoder, check_state_dict
        dec = DeCapDecoder.from_state_dict(check_state_dict(self.sd), CLIP_VOCAB)
        g = torch.Generator().manual_seed(2)
        x = F.normalize(torch.randn(2, 512, generator=g), dim=-1)
        ids = torch.randint(0, CLIP_VOCAB - 2, (2, 7), generator=g)
        ids[:, 0] = SOT
        with torch.no_grad():
            ours = dec(x, ids)
            ref = reference_forward(self.sd, x, ids)
        self.assertEqual(tuple(ours.shape), (2, 7, CLIP_VOCAB))
        # DeCap's logits after the prefix position, cut to the CLIP vocabulary
        torch.testing.assert_close(ours, ref[:, 1:, :CLIP_VOCAB], atol=1e-4, rtol=1e-4)

    def test_import_export_and_add_to_pack(self):
        from add_decoder import AddDecoderError, add_to_pack, sha256
        from decap import DeCapFormatError
        from import_decap import import_decap
        pack = os.path.join(self.tmp, "pack")
        os.makedirs(pack)
        words = [f"w{i}" for i in range(300)]
        tok = {"type": "word", "vocab": ["<pad>", "<bos>", "<eos>", "<unk>"] + words, "pad": 0, "bos": 1, "eos": 2, "unk": 3, "maxLength": 24, "lowercase": True}
        dump(tok, os.path.join(pack, "tokenizer.json"))
        pj = {"format": "caption-studio-pack/1", "id": "t", "version": "0", "embedDim": 512, "tokenizer": {"file": "tokenizer.json", "type": "word"},
              "decoders": [], "defaults": {"retrieval": True}, "files": [{"path": "tokenizer.json", "bytes": 1, "sha256": sha256(os.path.join(pack, "tokenizer.json"))}],
              "provenance": {"builtBy": "test"}}
        dump(pj, os.path.join(pack, "pack.json"))
        pt = os.path.join(self.tmp, "decap.pt")
        torch.save(self.sd, pt)
        out = os.path.join(self.tmp, "bundle")
        with self.assertRaises(DeCapFormatError) as e:  # a word tokenizer is not CLIP's BPE
            import_decap(pt, pack, out, log=lambda s: None)
        self.assertIn("CLIP BPE", str(e.exception))
        b = import_decap(pt, pack, out, allow_other_tokenizer=True, log=lambda s: None)
        chk = b["provenance"]["check"]
        self.assertLess(chk["cachedVsUncached"], 1e-4)
        self.assertLess(chk["onnxVsTorch"], 1e-4)
        self.assertEqual(b["outputs"][0]["shape"][-1], 304)
        self.assertEqual(b["provenance"]["sha256"], sha256(pt))
        self.assertEqual(b["provenance"]["licence"], "not stated by its authors")
        self.assertIn("1EFI0aujIWBr3dTC_a2hdoV4QJenAlEWU", b["provenance"]["source"])
        # the vocabulary cut keeps the graphs small: 304 token rows, not 50,257
        self.assertLess(os.path.getsize(os.path.join(out, "decoder.onnx")), 150e6)
        entry = add_to_pack(pack, out, make_default=True)
        got = load(os.path.join(pack, "pack.json"))
        self.assertEqual(got["defaultDecoder"], "decap-coco")
        self.assertEqual(got["decoders"][0]["file"], "decoders/decap-coco/decoder.onnx")
        self.assertEqual(got["decoders"][0]["cache"]["file"], "decoders/decap-coco/decoder_step.onnx")
        self.assertEqual(got["defaults"], {"retrieval": True, "memoryProjection": True, "noiseSamples": 1})
        listed = {f["path"]: f for f in got["files"]}
        for rel in (entry["file"], entry["cache"]["file"]):
            self.assertEqual(listed[rel]["sha256"], sha256(os.path.join(pack, rel)))
            self.assertEqual(listed[rel]["bytes"], os.path.getsize(os.path.join(pack, rel)))
        prov = got["provenance"]["decoders"][0]
        self.assertEqual(prov["id"], "decap-coco")
        self.assertEqual(prov["sha256"], sha256(pt))
        self.assertEqual(got["provenance"]["builtBy"], "test")
        with self.assertRaises(AddDecoderError):  # same id again
            add_to_pack(pack, out)
        tok["vocab"][10] = "changed"
        dump(tok, os.path.join(pack, "tokenizer.json"))
        with self.assertRaises(AddDecoderError) as e:
            add_to_pack(pack, out, d_id="again")
        self.assertIn("another tokenizer", str(e.exception))

    def test_export_tolerance_follows_the_output_scale_and_catches_a_wrong_export(self):
        """[Note: export tolerance] (decoder_cache.py): weights at trained-like scale (×12: logits in the tens)
        pass the relative bound; a graph exported from other weights (one position row moved) is refused."""
        from decap import DeCapDecoder, check_state_dict
        from decoder_cache import check_cached, check_fails, export_cached
        scaled = {k: (v * 12 if v.dtype.is_floating_point and v.dim() > 0 and not k.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")) else v)
                  for k, v in self.sd.items()}
        for name, sd, wrong in (("x12", scaled, False), ("moved", self.sd, True)):
            dec = DeCapDecoder.from_state_dict(check_state_dict(sd), 300)
            init, step = os.path.join(self.tmp, f"{name}.onnx"), os.path.join(self.tmp, f"{name}_step.onnx")
            export_cached(dec, 512, init, step)
            if wrong:
                with torch.no_grad():
                    # torch now differs from the exported graph at position 2 (not by a constant: LayerNorm removes that)
                    dec.pos[2] += 0.05 * torch.randn(dec.pos.shape[1], generator=torch.Generator().manual_seed(0))
            chk = check_cached(dec, 512, init, step, 1, 300)
            print(f"export check {name}: {chk}", file=sys.stderr)
            if wrong:
                self.assertRegex(check_fails(chk) or "", r"max \|diff\| .* > ")
            else:
                self.assertGreater(chk["scale"], 5)
                self.assertIsNone(check_fails(chk))


if __name__ == "__main__":
    unittest.main()
