"""ShapesWorld's truth checker: parses a caption under the caption grammar and decides whether it is true of a
scene. `caption_is_true(caption, scene)` is a pure function of a caption string and a scene dict; the
TypeScript port (src/main/eval/shapesworld-truth.ts) is cross-checked against it by the tests."""
from __future__ import annotations

import re

from shapesworld_spec import BACKGROUNDS, COLOURS, COUNT_WORDS, RELATIONS, SHAPES, SIZES, article as _article

def tokenize(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9 ]+", " ", text.lower()).split()


def _parse_np(w: list[str], i: int, with_article: bool = True):
    """Parse [article] [size] [colour] shape at w[i]; returns (np, next index) or None."""
    start = i
    if with_article:
        if i >= len(w) or w[i] not in ("a", "an"):
            return None
        i += 1
    np_ = {}
    if i < len(w) and w[i] in SIZES:
        np_["size"] = w[i]
        i += 1
    if i < len(w) and w[i] in COLOURS:
        np_["colour"] = w[i]
        i += 1
    if i >= len(w) or w[i] not in SHAPES:
        return None
    np_["shape"] = w[i]
    i += 1
    if with_article and w[start] != _article(w[start + 1]):
        return None  # "a orange ..." / "an red ..." are not in the language
    return np_, i


def _parse_bg(w: list[str], i: int):
    """Optional ' on a {background} background' suffix; returns (background or None, next index) or None."""
    if i == len(w):
        return None, i
    if len(w) - i == 4 and w[i] == "on" and w[i + 1] == "a" and w[i + 2] in BACKGROUNDS and w[i + 3] == "background":
        return w[i + 2], i + 4
    return None


def parse_caption(caption: str):
    """Parse a caption of the ShapesWorld language into a logical form, or None when it is not in it.

    Forms: {"kind": "single"|"relation"|"conjunction"|"single-count"|"count", "nps": [...], "rel": ...,
    "count": n, "background": name or None}. Accepted language = the generator's grammar, plus an optional
    background suffix after any form except relation (meaning is unambiguous).
    """
    w = tokenize(caption)
    if not w:
        return None
    # count forms
    if len(w) >= 2 and w[0] in COUNT_WORDS and w[1] in ("shape", "shapes", "object", "objects"):
        n = COUNT_WORDS[w[0]]
        if (n == 1) != (w[1] in ("shape", "object")):
            return None
        bg = _parse_bg(w, 2)
        if bg is None:
            return None
        return {"kind": "count", "nps": [], "count": n, "background": bg[0]}
    if len(w) >= 2 and w[0] == "a" and w[1] == "single":
        p = _parse_np(w, 2, with_article=False)
        if p is None:
            return None
        bg = _parse_bg(w, p[1])
        if bg is None:
            return None
        return {"kind": "single-count", "nps": [p[0]], "count": 1, "background": bg[0]}
    i = 0
    prefixed = False
    if w[:2] == ["there", "is"]:
        i, prefixed = 2, True
    elif w[:3] == ["a", "picture", "of"]:
        i, prefixed = 3, True
    p = _parse_np(w, i)
    if p is None:
        return None
    np1, i = p
    if not prefixed and i < len(w):
        if w[i] == "and":
            q = _parse_np(w, i + 1)
            if q is None:
                return None
            bg = _parse_bg(w, q[1])
            if bg is None:
                return None
            return {"kind": "conjunction", "nps": [np1, q[0]], "background": bg[0]}
        for words, rel in RELATIONS.items():
            if tuple(w[i : i + len(words)]) == words:
                q = _parse_np(w, i + len(words))
                if q is None or q[1] != len(w):
                    return None
                return {"kind": "relation", "nps": [np1, q[0]], "rel": rel, "background": None}
    bg = _parse_bg(w, i)
    if bg is None:
        return None
    return {"kind": "single", "nps": [np1], "background": bg[0]}


def _matches(np_: dict, o: dict) -> bool:
    return all(o[k] == v for k, v in np_.items())


def caption_is_true(caption: str, scene: dict) -> bool:
    """True when the caption is in the ShapesWorld language and true of the scene (spec "Truth of a caption")."""
    form = parse_caption(caption)
    if form is None:
        return False
    objs = scene["objects"]
    if form["background"] is not None and form["background"] != scene["background"]:
        return False
    if "count" in form and form["count"] != len(objs):
        return False
    if form["kind"] == "relation":
        a_np, b_np = form["nps"]
        rel = form["rel"]
        for ia, a in enumerate(objs):
            if not _matches(a_np, a):
                continue
            for ib, b in enumerate(objs):
                if ia == ib or not _matches(b_np, b):
                    continue
                if rel == "left" and a["cx"] < b["cx"]:
                    return True
                if rel == "right" and a["cx"] > b["cx"]:
                    return True
                if rel == "above" and a["cy"] < b["cy"]:
                    return True
                if rel == "below" and a["cy"] > b["cy"]:
                    return True
        return False
    return all(any(_matches(np_, o) for o in objs) for np_ in form["nps"])


def named_pairs(caption: str) -> list[tuple[str, str]]:
    """(colour, shape) pairs named by the caption's noun phrases (for held-out analysis)."""
    form = parse_caption(caption)
    if form is None:
        return []
    return [(n["colour"], n["shape"]) for n in form["nps"] if "colour" in n]
