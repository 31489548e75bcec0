#!/usr/bin/python3
"""Add a caption decoder to an installed pack (e.g. the photo pack built by `caption-studio models get`).

  /usr/bin/python3 tools/modelkit/add_decoder.py --pack PACK_DIR --decoder BUNDLE_DIR [--id ID] [--default] [--replace]

BUNDLE_DIR is what import_decap.py (DeCap's published decoder) or train_decoder.py --pack (our own noise-injected
decoder) writes: decoder.json (a pack.json `decoders[]` entry plus `tokenizer`, `provenance` and suggested
`defaults`), decoder.onnx and, for incremental decoding, decoder_step.onnx (docs/pack-format.md "decoder cache").

What it does: checks that the decoder's ids are the pack tokenizer's (decoder.json `tokenizer.sha256` is the
sha256 of the pack's tokenizer file, and its logits cover that vocabulary), copies the graphs to
PACK_DIR/decoders/<id>/, lists them in pack.json `files` with bytes and sha256, appends the entry to `decoders`,
records its provenance in `provenance.decoders`, and with --default makes it the pack's default decoder and
merges the bundle's suggested `defaults` (the method's own inference settings, e.g. DeCap's memory projection;
not settings measured on this pack) into pack.json `defaults`. pack.json is replaced atomically. The studio
verifies every sha256 again when the pack is next activated.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
DEFAULT_KEYS = {"memoryProjection", "noiseSamples", "noiseVariance", "cleanSample", "beam", "maxLength"}


class AddDecoderError(ValueError):
    pass


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_json(path: str):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _token_id(tok: dict, name) -> int | None:
    if isinstance(name, dict):
        name = name.get("content")
    if not isinstance(name, str):
        return None
    for a in tok.get("added_tokens") or []:
        if a.get("content") == name:
            return int(a["id"])
    v = (tok.get("model") or {}).get("vocab") or {}
    return int(v[name]) if isinstance(v, dict) and name in v else None


def tokenizer_info(pack_dir: str, pack: dict) -> dict:
    """sha256, vocabulary size and bos/eos ids of the pack's tokenizer (word or Hugging Face tokenizer.json)."""
    spec = pack.get("tokenizer") or {}
    path = os.path.join(pack_dir, spec.get("file", ""))
    if not os.path.isfile(path):
        raise AddDecoderError(f"the pack's tokenizer file {spec.get('file')!r} is missing")
    tok = read_json(path)
    if spec.get("type") == "word":
        return {"sha256": sha256(path), "vocab": len(tok["vocab"]), "bos": int(tok["bos"]), "eos": int(tok["eos"])}
    ids = [int(i) for i in ((tok.get("model") or {}).get("vocab") or {}).values()] + [int(a["id"]) for a in tok.get("added_tokens") or []]
    cfg = {}
    if spec.get("config") and os.path.isfile(os.path.join(pack_dir, spec["config"])):
        cfg = read_json(os.path.join(pack_dir, spec["config"]))
    pp = tok.get("post_processor") or {}
    bos = _token_id(tok, cfg.get("bos_token")) if cfg.get("bos_token") else (pp.get("cls") or [None, None])[1]
    eos = _token_id(tok, cfg.get("eos_token")) if cfg.get("eos_token") else (pp.get("sep") or [None, None])[1]
    if not ids or bos is None or eos is None:
        raise AddDecoderError(f"{spec.get('file')}: cannot read its vocabulary or start/end tokens")
    return {"sha256": sha256(path), "vocab": max(ids) + 1, "bos": int(bos), "eos": int(eos)}


def _logits_vocab(entry: dict):
    for o in entry.get("outputs", []):
        if o.get("name") == entry.get("roles", {}).get("logits"):
            return o["shape"][-1]
    return None


def add_to_pack(pack_dir: str, bundle_dir: str, d_id: str | None = None, make_default: bool = False, replace: bool = False) -> dict:
    """Install the bundle into the pack; returns the pack.json decoders[] entry written."""
    pj = os.path.join(pack_dir, "pack.json")
    if not os.path.isfile(pj):
        raise AddDecoderError(f"no pack.json in {pack_dir}")
    pack = read_json(pj)
    bundle = read_json(os.path.join(bundle_dir, "decoder.json"))
    entry = {k: v for k, v in bundle.items() if k not in ("tokenizer", "provenance", "defaults", "training")}
    d_id = d_id or entry.get("id")
    if not isinstance(d_id, str) or not ID_RE.match(d_id):
        raise AddDecoderError(f"decoder id {d_id!r} must be 1-100 letters, digits, '.', '_' or '-'")
    entry["id"] = d_id
    if entry.get("kind") != "prefix-tokens":
        raise AddDecoderError(f"decoder kind {entry.get('kind')!r}: the engine runs only 'prefix-tokens'")
    if entry["inputs"][0]["shape"][-1] != pack.get("embedDim"):
        raise AddDecoderError(f"the decoder reads {entry['inputs'][0]['shape'][-1]}-d prefixes, the pack's embeddings are {pack.get('embedDim')}-d")
    want = bundle.get("tokenizer") or {}
    have = tokenizer_info(pack_dir, pack)
    if want.get("sha256") != have["sha256"]:
        raise AddDecoderError(f"the decoder was made for another tokenizer (sha256 {str(want.get('sha256'))[:12]}…, the pack's is {have['sha256'][:12]}…): its ids would mean other words")
    if _logits_vocab(entry) != have["vocab"]:
        raise AddDecoderError(f"the decoder's logits cover {_logits_vocab(entry)} ids, the pack tokenizer has {have['vocab']}")
    decoders = pack.setdefault("decoders", [])
    if any(d.get("id") == d_id for d in decoders):
        if not replace:
            raise AddDecoderError(f"the pack already has a decoder {d_id!r} (use --replace or another --id)")
        decoders[:] = [d for d in decoders if d.get("id") != d_id]
    rel = f"decoders/{d_id}"
    os.makedirs(os.path.join(pack_dir, rel), exist_ok=True)
    files = {f["path"]: f for f in pack.get("files", [])}
    written = []
    for spec in [entry] + ([entry["cache"]] if entry.get("cache") else []):
        src = os.path.join(bundle_dir, spec["file"])
        if not os.path.isfile(src):
            raise AddDecoderError(f"{spec['file']} is missing from {bundle_dir}")
        dst_rel = f"{rel}/{os.path.basename(spec['file'])}"
        shutil.copyfile(src, os.path.join(pack_dir, dst_rel))
        spec["file"] = dst_rel
        files[dst_rel] = {"path": dst_rel, "bytes": os.path.getsize(os.path.join(pack_dir, dst_rel)), "sha256": sha256(os.path.join(pack_dir, dst_rel))}
        written.append(files[dst_rel])
    decoders.append(entry)
    pack["files"] = list(files.values())
    prov = pack.get("provenance")
    if not isinstance(prov, dict):
        prov = {"original": prov} if prov is not None else {}
        pack["provenance"] = prov
    record = {"id": d_id, **(bundle.get("provenance") or {}), "tokenizerSha256": have["sha256"], "files": [{"path": f["path"], "sha256": f["sha256"]} for f in written]}
    if bundle.get("training"):
        record["training"] = bundle["training"]
    if make_default:
        pack["defaultDecoder"] = d_id
        suggested = {k: v for k, v in (bundle.get("defaults") or {}).items() if k in DEFAULT_KEYS}
        pack.setdefault("defaults", {}).update(suggested)
        record["defaultsApplied"] = suggested
    prov["decoders"] = [r for r in prov.get("decoders", []) if r.get("id") != d_id] + [record]
    fd, tmp = tempfile.mkstemp(prefix=".pack-", suffix=".json", dir=pack_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(pack, f, indent=2, ensure_ascii=False)
    os.replace(tmp, pj)
    return entry


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pack", required=True, help="the installed pack's folder (caption-studio models list shows it)")
    ap.add_argument("--decoder", required=True, help="a folder with decoder.json (import_decap.py / train_decoder.py output)")
    ap.add_argument("--id", default=None, help="decoder id in the pack (default: the bundle's)")
    ap.add_argument("--default", action="store_true", help="make it the default decoder and apply its suggested defaults")
    ap.add_argument("--replace", action="store_true", help="replace a decoder of the same id")
    a = ap.parse_args(argv)
    try:
        entry = add_to_pack(a.pack, a.decoder, a.id, a.default, a.replace)
    except (AddDecoderError, OSError, KeyError, json.JSONDecodeError) as e:
        print(f"add_decoder: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"pack": a.pack, "decoder": entry["id"], "files": [entry["file"]] + ([entry["cache"]["file"]] if entry.get("cache") else [])}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
