#!/usr/bin/python3
"""Import DeCap's published COCO caption decoder into a photo pack (model kit only; the app never reads a .pt).

  /usr/bin/python3 tools/modelkit/import_decap.py --pt coco_prefix-009.pt --pack PACK_DIR --out BUNDLE_DIR [--install] [--default]

Where the file comes from: the DeCap repository (dhg-wei/DeCap, README "Pretrained models", "model_coco") links a
PyTorch state_dict on Google Drive, file id 1EFI0aujIWBr3dTC_a2hdoV4QJenAlEWU. Its authors state no licence for
the repository or the weights: check the terms yourself before you use or share captions made with it.

Steps: torch.load(weights_only=True) and a key/shape check against DeCap's layout (decap.py); our own GPT-2
module rebuilt from it with the vocabulary cut to the pack tokenizer's (which must be the 49,408-id CLIP BPE
with SOT 49406 / EOT 49407, the ids DeCap was trained on; --allow-other-tokenizer is for random-weight tests
only); export as the KV-cache pair decoder.onnx + decoder_step.onnx (decoder_cache.py); torch cached ==
uncached and onnxruntime == torch checked (max |diff| recorded, refused above 1e-4 · max(1, max |output|):
decoder_cache.py [Note: export tolerance]); BUNDLE_DIR/decoder.json
with the pack.json entry, the tokenizer it is for, provenance (the .pt's sha256, the Drive id, "licence not
stated by its authors") and DeCap's inference settings as suggested defaults (memoryProjection on: DeCap
decodes the image embedding projected onto the caption memory). --install then runs add_decoder.py's step.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from add_decoder import AddDecoderError, add_to_pack, read_json, sha256, tokenizer_info  # noqa: E402
from decap import CLIP_VOCAB, DIM, EOT, SOT, DeCapDecoder, DeCapFormatError, load_decap  # noqa: E402
from decoder_cache import cache_specs, check_cached, check_fails, export_cached  # noqa: E402

DRIVE_ID = "1EFI0aujIWBr3dTC_a2hdoV4QJenAlEWU"


def import_decap(pt: str, pack_dir: str, out: str, d_id: str = "decap-coco", allow_other_tokenizer: bool = False, log=print) -> dict:
    """Write the bundle (decoder.json + graphs) for `pack_dir`'s tokenizer; returns decoder.json's content."""
    t0 = time.time()
    pack = read_json(os.path.join(pack_dir, "pack.json"))
    if pack.get("embedDim") != DIM:
        raise DeCapFormatError(f"DeCap reads {DIM}-d CLIP ViT-B/32 embeddings; the pack's are {pack.get('embedDim')}-d")
    tok = tokenizer_info(pack_dir, pack)
    if (tok["vocab"], tok["bos"], tok["eos"]) != (CLIP_VOCAB, SOT, EOT) and not allow_other_tokenizer:
        raise DeCapFormatError(f"the pack's tokenizer has {tok['vocab']} ids (start {tok['bos']}, end {tok['eos']}); DeCap's ids are the CLIP BPE's "
                               f"({CLIP_VOCAB}, start {SOT}, end {EOT})")
    params = load_decap(pt)
    dec = DeCapDecoder.from_state_dict(params, tok["vocab"])
    os.makedirs(out, exist_ok=True)
    init_path, step_path = os.path.join(out, "decoder.onnx"), os.path.join(out, "decoder_step.onnx")
    export_cached(dec, DIM, init_path, step_path)
    check = check_cached(dec, DIM, init_path, step_path, tok["bos"], tok["vocab"])
    log(f"DeCap import: torch cached vs uncached {check['cachedVsUncached']:.2e}, onnxruntime vs torch {check['onnxVsTorch']:.2e}")
    why = check_fails(check)
    if why:
        raise RuntimeError(f"the exported decoder differs from the torch module: {why}: {check}")
    init, step = cache_specs(dec, tok["vocab"], DIM)
    bundle = {
        "id": d_id, "file": "decoder.onnx", "noiseVariance": 0.0, "kind": "prefix-tokens",
        "description": "DeCap's COCO caption decoder (Li et al., ICLR 2023): a 4-layer GPT-2 trained from scratch on COCO caption text without noise; "
                       "imported from a user-supplied state_dict. Licence not stated by its authors.",
        **init, "cache": {"file": "decoder_step.onnx", **step},
        "tokenizer": tok,
        "provenance": {"method": "DeCap (dhg-wei/DeCap)", "source": f"model_coco, Google Drive file {DRIVE_ID} (linked from the dhg-wei/DeCap README)",
                       "file": os.path.basename(pt), "sha256": sha256(pt), "licence": "not stated by its authors",
                       "importedBy": "tools/modelkit/import_decap.py", "check": check, "seconds": round(time.time() - t0, 1),
                       "vocabulary": tok["vocab"], "torch": torch.__version__},
        "defaults": {"memoryProjection": True, "noiseSamples": 1},
    }
    with open(os.path.join(out, "decoder.json"), "w", encoding="utf-8") as f:
        json.dump(bundle, f, indent=2)
    return bundle


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pt", required=True, help="DeCap's state_dict (.pt)")
    ap.add_argument("--pack", required=True, help="the photo pack's folder (its tokenizer must be CLIP's BPE)")
    ap.add_argument("--out", required=True, help="where to write decoder.json and the graphs")
    ap.add_argument("--id", default="decap-coco")
    ap.add_argument("--install", action="store_true", help="also add it to the pack (add_decoder.py)")
    ap.add_argument("--default", action="store_true", help="with --install: make it the pack's default decoder")
    ap.add_argument("--allow-other-tokenizer", action="store_true", help="tests with random weights only: accept a tokenizer that is not CLIP's")
    a = ap.parse_args(argv)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    try:
        bundle = import_decap(a.pt, a.pack, a.out, a.id, a.allow_other_tokenizer, log=lambda s: print(s, file=sys.stderr, flush=True))
        if a.install:
            add_to_pack(a.pack, a.out, a.id, a.default)
    except (DeCapFormatError, AddDecoderError, OSError) as e:
        print(f"import_decap: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"out": a.out, "id": bundle["id"], "installed": a.install, "check": bundle["provenance"]["check"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
