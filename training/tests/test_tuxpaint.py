"""data/tuxpaint.py and build_dataset's Tux Paint source: captions from a stamp's
description in the data set's languages, its orientation flag, and which files
are stamps; checked on a small stamp folder made here (the Debian package need
not be installed)."""
import os
import sys

import numpy as np
import pytest

Image = pytest.importorskip("PIL.Image")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from data import build_dataset, tuxpaint   # noqa: E402
from dir7.dataset import flippable        # noqa: E402

KANGAROO = """A red kangaroo.
de.utf8=Ein rotes Riesenkänguru.
es.utf8=Un canguro rojo.
fr.utf8=Un kangourou rouge.
hi.utf8=एक लाल कंगारू|
ja.utf8=アカカンガルー
zh_TW.utf8=紅袋鼠。
zz.utf8=not a language of the data set
"""


def test_description_gives_names_that_read_like_an_emojis():
    caps = tuxpaint.parse_description(KANGAROO)
    assert caps == {"en": "red kangaroo", "de": "Ein rotes Riesenkänguru", "es": "Un canguro rojo",
                    "fr": "Un kangourou rouge", "hi": "एक लाल कंगारू", "ja": "アカカンガルー", "zh": "紅袋鼠"}
    assert tuxpaint.parse_description("A “Fuji” apple.\n")["en"] == "fuji apple"
    assert tuxpaint.parse_description("– because a brain is a terrible thing to waste…\n")["en"] == \
        "because a brain is a terrible thing to waste"
    assert tuxpaint.parse_description("zh_CN.utf8=没有英文\n") == {}   # no English line: not a stamp
    both = tuxpaint.parse_description("Sun.\nzh_TW.utf8=太陽\nzh_CN.utf8=太阳\n")
    assert both["zh"] == "太阳"   # simplified first, as the CLDR captions are


def stamp(root, rel, text, dat=None, size=(40, 30)):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.new("RGBA", size, (200, 40, 40, 255)).save(path)
    stem = os.path.splitext(path)[0]
    if text is not None:
        with open(stem + ".txt", "w", encoding="utf-8") as f:
            f.write(text)
    if dat is not None:
        with open(stem + ".dat", "w") as f:
            f.write(dat)


def test_stamps_are_the_images_with_a_description(tmp_path):
    root = str(tmp_path)
    stamp(root, "animals/marsupials/kangaroo.png", KANGAROO)
    stamp(root, "animals/marsupials/cartoon/kangaroo-silo.png", "A cartoon kangaroo.\n")
    stamp(root, "animals/marsupials/kangaroo_mirror.png", None)   # a mirror drawing, no stamp of its own
    stamp(root, "symbols/arrow.png", "An arrow.\n", dat="nomirror\n")
    os.makedirs(tmp_path / "seasonal")
    (tmp_path / "seasonal" / "gift.txt").write_text("A gift.\n")   # no image
    found = {rel: (caps["en"], folders, flip) for _, rel, caps, folders, flip in tuxpaint.stamps(root)}
    assert found == {
        "animals/marsupials/kangaroo.png": ("red kangaroo", ["animals", "marsupials"], True),
        "animals/marsupials/cartoon/kangaroo-silo.png": ("cartoon kangaroo", ["animals", "marsupials"], True),
        "symbols/arrow.png": ("arrow", ["symbols"], False),
    }
    assert tuxpaint.stem_name("space/planets/0_sun.png") == "sun"
    assert tuxpaint.stem_name("animals/amphibians/frog-1.png") == "frog"


def test_build_appends_stamps_held_out_by_name_or_file(tmp_path, monkeypatch):
    root = str(tmp_path)
    stamp(root, "animals/marsupials/kangaroo.png", KANGAROO, size=(128, 64))
    stamp(root, "symbols/arrow.png", "An arrow.\n", dat="noflip\n")
    # a stamp whose description is a training name but whose file names a held-out concept
    held = next(n for n in (f"thing {a}{b}" for a in "abcdefghij" for b in "abcdefghij")
                if build_dataset.held_out(n))
    stamp(root, f"household/{held.replace(' ', '_')}.png", "A blue box.\n")
    images, meta = [], []
    assert build_dataset.build_tuxpaint(images, meta, 2, root) == 3
    by_id = {m["id"]: (m, img) for m, img in zip(meta, images)}
    m, img = by_id["animals/marsupials/kangaroo.png"]
    assert img.shape == (64, 64, 4) and img.dtype == np.uint8
    assert img[..., 3].max() == 255 and img[0, 0, 3] == 0   # fitted, centred on a transparent canvas
    assert m["source"] == "tuxpaint" and m["captions"]["en"] == ["red kangaroo", "marsupials"]
    assert m["captions"]["ja"] == ["アカカンガルー"] and m["licence"].startswith("GPL-2")
    assert m["held_out"] == build_dataset.held_out("red kangaroo")
    assert flippable(m) and not flippable(by_id["symbols/arrow.png"][0])
    assert by_id[f"household/{held.replace(' ', '_')}.png"][0]["held_out"]
    with pytest.raises(SystemExit, match="tuxpaint-stamps-default"):
        build_dataset.build_tuxpaint([], [], 1, str(tmp_path / "missing"))
