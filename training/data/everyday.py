"""The everyday emoji: the objects, animals, plants, food, places, vehicles and weather
an artist is likely to ask for, picked by the emoji groups that CLDR's labels.txt
(unicode-cldr-core, Unicode licence) gives single-character emoji. A model aimed at
drawing these well draws them more often in training (train.py --focus), and
tools/paired_eval.py --split everyday tests them (training log, phase 42).

    cd training && python3 -m data.everyday --out data/everyday-emoji.txt

The list is committed, since the device machine has no CLDR; tests/test_everyday.py
checks that it is what this script writes from the installed CLDR. Faces, people,
symbols, flags and clock faces are left out: faces already come out clean, and the
rest are glyphs or kinds rather than objects. Emoji newer than labels.txt (it stops
at Emoji 11) and sequences (skin tones, families, flags) carry no label and stay out.
"""
import argparse
import os

LABELS = "/usr/share/unicode/cldr/common/properties/labels.txt"
GROUPS = {"Animals & Nature", "Food & Drink", "Travel & Places", "Activities", "Objects"}
LEFT_OUT = {("Travel & Places", "time")}       # clock faces: a dial each, told apart by its hands
ADDED = {("Smileys & People", "clothing")}      # clothes are objects, unlike the rest of the group


def unicode_set(text):
    """The characters of a labels.txt UnicodeSet such as [🐀-🐈🐎]: single characters
    and ranges, no escapes (labels.txt writes none in these groups)."""
    if not (text.startswith("[") and text.endswith("]")):
        raise ValueError(f"everyday: not a set: {text!r}")
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            out += [chr(c) for c in range(ord(body[i]), ord(body[i + 2]) + 1)]
            i += 3
        else:
            out.append(body[i])
            i += 1
    return out


def labels(path=LABELS):
    """Each labelled character -> its (group, subgroup)s, in file order."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = [x.strip() for x in line.split(";")]
            if line.startswith("#") or len(fields) < 2:
                continue
            sub = fields[2] if len(fields) > 2 else ""
            for c in unicode_set(fields[0]):
                out.setdefault(c, []).append((fields[1], sub))
    return out


def is_everyday(group, sub):
    return (group in GROUPS and (group, sub) not in LEFT_OUT) or (group, sub) in ADDED


def everyday_chars(path=LABELS):
    """The everyday characters with their first everyday (group, subgroup), by code point."""
    return [(c, next(gs for gs in lab if is_everyday(*gs))) for c, lab in sorted(labels(path).items())
            if any(is_everyday(*gs) for gs in lab)]


def write_list(out, path=LABELS):
    with open(out, "w", encoding="utf-8") as f:
        f.write("# everyday emoji (training/data/everyday.py from CLDR labels.txt): char<TAB>group<TAB>subgroup\n")
        for c, (group, sub) in everyday_chars(path):
            f.write(f"{c}\t{group}\t{sub}\n")


def read_entries(path):
    """A committed list as {character: (group, subgroup)} (the characters are emoji ids as
    the data set's meta writes them)."""
    with open(path, encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip() and not line.startswith("#")]
    return {c: (group, sub) for c, group, sub in rows}


def read_list(path):
    """The characters of a committed list."""
    return set(read_entries(path))


def is_listed(entry, ids):
    """Whether a data set entry (meta.json) is one of the listed emoji."""
    return entry["source"] == "emoji" and entry["id"] in ids


def default_list():
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "everyday-emoji.txt")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--labels", default=LABELS)
    ap.add_argument("--out", default=default_list())
    args = ap.parse_args()
    write_list(args.out, args.labels)
    print(f"everyday: {len(read_list(args.out))} characters -> {args.out}")


if __name__ == "__main__":
    main()
