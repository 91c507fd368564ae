"""Tux Paint's stamps (tuxpaint-stamps-default) as training images: about 950 drawn
animals, foods, plants, vehicles and household objects, the kinds of prompt the
emoji and clip art leave as shapes (training log, phase 33), each described in
English and translated into most of the data set's languages.

A stamp is NAME.png or NAME.svg beside NAME.txt: the first line is the English
description ("A red kangaroo."), the others "LOCALE.utf8=description"; NAME.dat
may say "nomirror" / "noflip" (a stamp that must keep its orientation, as text
does), and NAME_mirror.png is a hand-drawn mirror image, not a second stamp.
"""
import os
import re

STAMPS = "/usr/share/tuxpaint/stamps"
LICENCE = "GPL-2 (Tux Paint stamps, tuxpaint-stamps-default)"
# the data set's languages -> Tux Paint's locale keys, the first one present wins
LOCALES = {"zh": ("zh_CN", "zh_TW"), "es": ("es",), "fr": ("fr",), "de": ("de",), "ja": ("ja",),
           "it": ("it",), "pt": ("pt", "pt_BR"), "ru": ("ru",), "ko": ("ko",), "ar": ("ar",),
           "hi": ("hi",), "nl": ("nl",), "pl": ("pl",), "tr": ("tr",), "vi": ("vi",)}
ARTICLE = re.compile(r"^(a|an|the|some)\s+", re.IGNORECASE)


def clean(text, english=False):
    """A description as a caption: no closing punctuation; in English lower case,
    without its leading article or quotes ("A “Fuji” apple." -> "fuji apple"),
    so that it reads and hashes like an emoji's name."""
    text = text.strip().rstrip(".。!！|…").strip().lstrip("–—- ").strip()
    if english:
        text = ARTICLE.sub("", text.replace("“", "").replace("”", "").replace('"', "")).lower()
    return text


def parse_description(text):
    """{language: description} from a stamp's .txt (only the data set's languages)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines or "=" in lines[0].split(" ")[0]:
        return {}
    by_locale = {}
    for ln in lines[1:]:
        key, sep, value = ln.partition("=")
        if sep and key.endswith(".utf8") and value.strip():
            by_locale[key[:-len(".utf8")]] = value
    out = {"en": clean(lines[0], english=True)}
    for lang, keys in LOCALES.items():
        found = (clean(by_locale[k]) for k in keys if k in by_locale)
        text = next((t for t in found if t), None)
        if text:
            out[lang] = text
    return out if out["en"] else {}


def keeps_orientation(dat_path):
    """True when the stamp's .dat forbids mirroring or flipping it."""
    try:
        with open(dat_path, encoding="utf-8", errors="replace") as f:
            words = f.read().split()
    except OSError:
        return False
    return "nomirror" in words or "noflip" in words


def stamps(root=STAMPS):
    """[(image path, relative id, {language: description}, folders, flip allowed)] for
    every stamp with an image and an English description, in a fixed order."""
    out = []
    for dirpath, dirnames, files in os.walk(root):
        dirnames.sort()
        for name in sorted(files):
            stem, ext = os.path.splitext(name)
            if ext != ".txt":
                continue
            image = next((os.path.join(dirpath, stem + e) for e in (".png", ".svg")
                          if os.path.exists(os.path.join(dirpath, stem + e))), None)
            if image is None:
                continue
            with open(os.path.join(dirpath, name), encoding="utf-8", errors="replace") as f:
                captions = parse_description(f.read())
            if not captions:
                continue
            rel = os.path.relpath(image, root)
            folders = [d.replace("_", " ") for d in os.path.dirname(rel).split("/") if d and d != "cartoon"]
            flip = not keeps_orientation(os.path.join(dirpath, stem + ".dat"))
            out.append((image, rel, captions, folders, flip))
    return out


def stem_name(rel):
    """The file's own name as words ("household/tools/measuring_tape.png" -> "measuring tape")."""
    stem = os.path.splitext(os.path.basename(rel))[0]
    return re.sub(r"^\d+\s*|\s*\d+$", "", re.sub(r"[_\-]+", " ", stem)).strip().lower()
