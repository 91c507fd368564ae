"""Builds DIR-7's training set from Debian packages only; anyone can rerun it.

    apt-get install fonts-noto-color-emoji unicode-cldr-core openclipart-svg librsvg2-bin \
        tuxpaint-stamps-default
    pip install fonttools pillow numpy
    cd training && python3 -m data.build_dataset --out cache/dataset

Sources:
- Noto Color Emoji (OFL-1.1): the CBDT colour bitmaps, captioned from CLDR's
  annotations and annotationsDerived (Unicode licence) in many languages;
- Open Clip Art (public domain): every SVG rendered by rsvg-convert, captioned
  from its dc:title, its keywords and its category folder; the
  patterns/gradients/examples/duplicates folders are dropped;
- Tux Paint's stamps (GPL-2; data/tuxpaint.py): drawn animals, foods, plants and
  objects, captioned from their descriptions in English and most other languages,
  appended after the other two so that their images and held-out flags stay as
  they were.

Output (premultiplied RGBA, 64 x 64, uint8): images.npy [N, 64, 64, 4] and
meta.json (per image: source, id, captions per language, held_out flag).
Held-out concepts: emoji whose English name hashes into 5%, and clip art whose
title does, and stamps whose description or file name does; they are never trained
on and serve the evaluation.
"""
import argparse
import glob
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from data import tuxpaint

SIZE = 64
EMOJI_FONT = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
CLDR = "/usr/share/unicode/cldr/common"
CLIPART = "/usr/share/openclipart/svg"
LANGS = ["en", "zh", "es", "fr", "de", "ja", "it", "pt", "ru", "ko", "ar", "hi", "nl", "pl", "tr", "vi"]
DROP_DIRS = ("special/patterns", "special/gradients", "special/examples", "unsorted/duplicates")
VS16 = "\ufe0f"


def held_out(name: str) -> bool:
    return int(hashlib.sha1(name.encode()).hexdigest(), 16) % 100 < 5


def premultiplied_square(img: Image.Image) -> np.ndarray:
    """Fit into SIZE x SIZE keeping the aspect ratio, centred, premultiplied uint8."""
    img = img.convert("RGBA")
    img.thumbnail((SIZE, SIZE), Image.LANCZOS)
    canvas = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    canvas.paste(img, ((SIZE - img.width) // 2, (SIZE - img.height) // 2))
    a = np.asarray(canvas).astype(np.float32)
    a[..., :3] *= a[..., 3:4] / 255.0
    return np.rint(a).astype(np.uint8)


def cldr_annotations():
    """{emoji string without VS16: {lang: {"name": str, "keywords": [str]}}}"""
    out = {}
    for lang in LANGS:
        for sub in ("annotations", "annotationsDerived"):
            path = os.path.join(CLDR, sub, f"{lang}.xml")
            if not os.path.exists(path):
                continue
            for el in ET.parse(path).getroot().iter("annotation"):
                cp = el.get("cp", "").replace(VS16, "")
                text = (el.text or "").strip()
                if not cp or not text or text == "↑↑↑":
                    continue
                d = out.setdefault(cp, {}).setdefault(lang, {"name": None, "keywords": []})
                if el.get("type") == "tts":
                    d["name"] = text
                else:
                    d["keywords"] = [k.strip() for k in text.split("|") if k.strip()]
    return out


def emoji_glyph_strings(font):
    """glyph name -> emoji string, from cmap and the GSUB ligatures (ZWJ, flags, skin tones)."""
    names = {}
    for cp, g in font.getBestCmap().items():
        names.setdefault(g, chr(cp))
    gsub = font["GSUB"].table
    for lookup in gsub.LookupList.Lookup:
        for st in lookup.SubTable:
            if st.LookupType == 7:
                st = st.ExtSubTable
            ligs = getattr(st, "ligatures", None)
            if not ligs:
                continue
            for first, seqs in ligs.items():
                for lig in seqs:
                    parts = [first] + list(lig.Component)
                    if all(p in names for p in parts):
                        names.setdefault(lig.LigGlyph, "".join(names[p] for p in parts))
    return {g: s.replace(VS16, "") for g, s in names.items()}


def build_emoji(images, meta):
    from fontTools.ttLib import TTFont
    font = TTFont(EMOJI_FONT)
    ann = cldr_annotations()
    strings = emoji_glyph_strings(font)
    strike = font["CBDT"].strikeData[0]
    n = 0
    for gname, bmp in strike.items():
        s = strings.get(gname)
        if s is None or s not in ann or "en" not in ann[s]:
            continue
        bmp.decompile()
        img = Image.open(io.BytesIO(bmp.imageData))
        caps = {}
        for lang, d in ann[s].items():
            words = ([d["name"]] if d["name"] else []) + d["keywords"]
            if words:
                caps[lang] = words
        en_name = ann[s]["en"]["name"] or ann[s]["en"]["keywords"][0]
        images.append(premultiplied_square(img))
        meta.append({"source": "emoji", "id": s, "captions": caps, "held_out": held_out(en_name),
                     "licence": "OFL-1.1 (Noto Color Emoji); captions Unicode licence (CLDR)"})
        n += 1
    return n


NS = {"dc": "http://purl.org/dc/elements/1.1/", "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
      "cc": "http://creativecommons.org/ns#", "svg": "http://www.w3.org/2000/svg"}


def clipart_caption(path):
    rel = os.path.relpath(path, CLIPART)
    folders = [f.replace("_", " ") for f in os.path.dirname(rel).split("/") if f]
    title, keywords = None, []
    try:
        root = ET.parse(path).getroot()
        work = root.find(".//cc:Work", NS)
        if work is not None:
            t = work.find("dc:title", NS)
            title = (t.text or "").strip() if t is not None else None
            for li in work.findall("dc:subject//rdf:li", NS):
                if li.text and li.text.strip():
                    keywords.append(li.text.strip())
    except ET.ParseError:
        pass
    if not title:
        title = re.sub(r"[_\-]+", " ", os.path.splitext(os.path.basename(path))[0])
        title = re.sub(r"\s*\d+$", "", title).strip()
    title = title.replace("_", " ")
    words = [title] + [k for k in keywords if k.lower() != title.lower()]
    return words, folders


def render(path):
    try:
        png = subprocess.run(["rsvg-convert", "-w", str(SIZE), "-h", str(SIZE), "-a", path],
                             capture_output=True, timeout=20, check=True).stdout
        return premultiplied_square(Image.open(io.BytesIO(png)))
    except Exception:
        return None


def build_clipart(images, meta, jobs):
    paths = sorted(p for p in glob.glob(os.path.join(CLIPART, "**", "*.svg"), recursive=True)
                   if not any(os.path.relpath(p, CLIPART).startswith(d) for d in DROP_DIRS))
    n = 0
    with ThreadPoolExecutor(jobs) as pool:
        for i, (path, img) in enumerate(zip(paths, pool.map(render, paths))):
            if img is None or img[..., 3].max() == 0:
                continue
            words, folders = clipart_caption(path)
            images.append(img)
            meta.append({"source": "openclipart", "id": os.path.relpath(path, CLIPART),
                         "captions": {"en": words + folders[-1:]}, "folders": folders,
                         "held_out": held_out(words[0].lower()), "licence": "public domain (Open Clip Art)"})
            n += 1
            if i % 500 == 0:
                print(f"clip art {i}/{len(paths)}", file=sys.stderr, flush=True)
    return n


def load_stamp(path):
    if path.endswith(".svg"):
        return render(path)
    try:
        return premultiplied_square(Image.open(path))
    except Exception:
        return None


def build_tuxpaint(images, meta, jobs, root=tuxpaint.STAMPS):
    if not os.path.isdir(root):
        sys.exit(f"build_dataset: no Tux Paint stamps in {root} (apt-get install tuxpaint-stamps-default)")
    found = tuxpaint.stamps(root)
    n = 0
    with ThreadPoolExecutor(jobs) as pool:
        for (path, rel, captions, folders, flip), img in zip(found, pool.map(load_stamp, [f[0] for f in found])):
            if img is None or img[..., 3].max() == 0:
                continue
            name = captions["en"]
            caps = {lang: [text] for lang, text in captions.items()}
            caps["en"] = [name] + [f for f in folders[-1:] if f != name]
            images.append(img)
            meta.append({"source": "tuxpaint", "id": rel, "captions": caps, "folders": folders, "flip": flip,
                         "held_out": held_out(name) or held_out(tuxpaint.stem_name(rel)),
                         "licence": tuxpaint.LICENCE})
            n += 1
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="cache/dataset")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    images, meta = [], []
    ne = build_emoji(images, meta)
    print(f"emoji: {ne}", file=sys.stderr)
    nc = build_clipart(images, meta, args.jobs)
    print(f"clip art: {nc}", file=sys.stderr)
    nt = build_tuxpaint(images, meta, args.jobs)
    print(f"tux paint stamps: {nt}", file=sys.stderr)
    np.save(os.path.join(args.out, "images.npy"), np.stack(images))
    with open(os.path.join(args.out, "meta.json"), "w") as f:
        json.dump(meta, f, ensure_ascii=False)
    langs = {}
    for m in meta:
        for lang in m["captions"]:
            langs[lang] = langs.get(lang, 0) + 1
    stats = {"emoji": ne, "openclipart": nc, "tuxpaint": nt, "held_out": sum(m["held_out"] for m in meta),
             "images_per_language": langs}
    with open(os.path.join(args.out, "stats.json"), "w") as f:
        json.dump(stats, f, indent=1)
    print(json.dumps(stats), file=sys.stderr)


if __name__ == "__main__":
    main()
