# Checks what GIMP's procedure browser shows for the DIR-7 procedures: every
# argument declared with a name, a label and a description, the menu entries,
# and (when run with DIR7_EXPECT_LANG=de) the German translation.
# Run by tests/plugin/run.sh through gimp-console-3.0's python-fu-eval.
import os
import sys

from gi.repository import Gimp

COMMON = ["run-mode", "image", "drawables", "prompt", "negative-prompt", "steps",
          "sampler", "guidance", "seed"]
TAIL = ["batch-count", "model", "device"]
EXPECTED = {
    "plug-in-dir7-generate": (COMMON + ["width", "height"] + TAIL, "<Image>/Filters/Generate"),
    "plug-in-dir7-img2img": (COMMON + ["strength"] + TAIL, "<Image>/Filters/Enhance"),
    "plug-in-dir7-inpaint": (COMMON + ["strength"] + TAIL, "<Image>/Filters/Enhance"),
}
GERMAN = {
    "plug-in-dir7-generate": "_Bild aus Text (DIR-7) …",
    "plug-in-dir7-img2img": "Bild zu Bild (_DIR-7) …",
    "plug-in-dir7-inpaint": "Auswahl _neu malen (DIR-7) …",
}

failures = 0


def check(name, ok, detail=""):
    global failures
    print(("PASS: " if ok else "FAIL: ") + name + (" (" + detail + ")" if detail else ""))
    if not ok:
        failures += 1


pdb = Gimp.get_pdb()
lang = os.environ.get("DIR7_EXPECT_LANG", "")
for proc_name, (names, menu) in EXPECTED.items():
    proc = pdb.lookup_procedure(proc_name)
    check(proc_name + " is registered", proc is not None)
    if proc is None:
        continue
    if lang == "de":
        check(proc_name + " German menu label", proc.get_menu_label() == GERMAN[proc_name],
              proc.get_menu_label())
        continue
    args = proc.get_arguments()
    got = [a.get_name() for a in args]
    check(proc_name + " arguments", got == names, " ".join(got))
    undocumented = [a.get_name() for a in args if not a.get_blurb() or not a.get_nick()]
    check(proc_name + " every argument has a label and a description", not undocumented,
          " ".join(undocumented))
    check(proc_name + " menu path", menu in proc.get_menu_paths(), " ".join(proc.get_menu_paths()))
    check(proc_name + " blurb", bool(proc.get_blurb()), proc.get_blurb())
    rets = [a.get_name() for a in proc.get_return_values()]
    check(proc_name + " returns layers and seed", rets == ["layers", "seed"], " ".join(rets))

print("pdb-docs failures: %d" % failures)
if failures:
    raise SystemExit("DIR-7 PDB documentation checks failed")
print("ALL PDB DOC TESTS PASSED")
