"""tools/phase_reports.sh: the reports beside a phase's filed tests, checked on phase 52's
committed rows against the figures its write-up quotes."""
import os
import shutil
import subprocess

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SETS = ("everyday", "held-out", "seen")


def test_phase_reports_on_phase_52s_filed_rows(tmp_path):
    """tools/phase_reports.sh on the committed rows of phase 52 (p52i against p50) gives
    the figures its write-up quotes"""
    docs = os.path.join(os.path.dirname(HERE), "docs", "eval")
    for ph in ("phase42", "phase50"):
        os.symlink(os.path.join(docs, ph), tmp_path / ph)
    for s in SETS:
        os.makedirs(tmp_path / "phase52" / s)
        for f in os.listdir(os.path.join(docs, "phase52", s)):
            if f.startswith("per-"):
                shutil.copy(os.path.join(docs, "phase52", s, f), tmp_path / "phase52" / s)
    r = subprocess.run(["bash", os.path.join(HERE, "tools", "phase_reports.sh"), "p52i", "phase52", "p50", "phase50"],
                       env=dict(os.environ, EVAL=str(tmp_path)), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "phase52"
    ranks = (out / "ranks-p52i.txt").read_text()
    assert "per-prompt-p50-measuring-clip-drawn-pool.jsonl: top-1 59.9%" in ranks
    assert "per-prompt-p52i-measuring-clip-drawn-pool.jsonl: top-1 66.0%" in ranks
    held = (out / "against-p42-p52i.txt").read_text().split("## held-out, p42 -> p52i, measuring-clip")[1]
    assert "+0.24 (-0.21, +0.69)" in held.split("##")[0]
    assert "63 / 22" in (out / "split-compare-p52i.txt").read_text()
    assert "b - a -0.49 (bootstrap -0.83, -0.16" in (out / "draw-noise-p52i.txt").read_text()
    has_data = os.path.exists(os.path.join(HERE, "cache", "dataset", "meta.json"))
    assert (out / "shared-words-p52i.txt").exists() == has_data
    assert (out / "seen-sources-p52i.txt").exists() == has_data
    assert has_data or "shared-words-p52i.txt and seen-sources-p52i.txt not written" in r.stderr
    if has_data:   # the seen loss is the clip art's (training log, phases 53 and 54)
        assert "openclipart (74 prompts) | -0.56 (-0.99, -0.14): worse" in (out / "seen-sources-p52i.txt").read_text()


def test_phase_reports_name_a_missing_row_file(tmp_path):
    r = subprocess.run(["bash", os.path.join(HERE, "tools", "phase_reports.sh"), "pX", "phase9", "p50", "phase50"],
                       env=dict(os.environ, EVAL=str(tmp_path)), capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "is missing" in r.stderr
