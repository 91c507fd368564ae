"""Tables for docs/performance.md from the JSON lines that bench-opencl,
bench_gpu.py and bench_train.py print (one run on one GPU):

    python3 bench/report.py RESULTS_DIR > table.md
"""
import glob
import json
import os
import sys


def load(d):
    rows = []
    for f in sorted(glob.glob(os.path.join(d, "*.jsonl"))):
        # a profiled run waits for every kernel: its total time is not a timing
        profiled = os.path.basename(f).startswith("profile-")
        for line in open(f):
            line = line.strip()
            if line.startswith("{"):
                r = json.loads(line)
                if not (profiled and r["bench"] == "generate"):
                    rows.append(dict(r, file=os.path.basename(f)))   # train_table pairs within a file
    return rows


def main():
    rows = load(sys.argv[1])
    wkv = {}
    for r in rows:
        if r["bench"] == "wkv" and r.get("ok"):
            wkv.setdefault((r["T"], r["H"]), {})[r["impl"]] = r["ms"]
    print("| T | heads | ours recurrent ms | ours chunked ms | fla chunk ms "
          "| fla fused-recurrent ms | ours (faster form) vs fla chunk "
          "| ours (faster form) vs fla fused-recurrent |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    fmt = lambda x: f"{x:.3f}" if x else "-"  # noqa: E731
    for (T, H), d in sorted(wkv.items()):
        rec, chk = d.get("opencl-recurrent"), d.get("opencl-chunked")
        ours = min(x for x in (rec, chk) if x) if (rec or chk) else None
        ch, fr = d.get("fla-chunk"), d.get("fla-fused-recurrent")
        rc = f"{ch / ours:.2f}x" if ours and ch else "-"
        rf = f"{fr / ours:.2f}x" if ours and fr else "-"
        print(f"| {T} | {H} | {fmt(rec)} | {fmt(chk)} | {fmt(ch)} | {fmt(fr)} | {rc} | {rf} |")
    print()
    gen = {}
    for r in rows:
        if r["bench"] == "generate":
            gen.setdefault((r.get("size"), r.get("prompt_bytes")), {})[r["impl"]] = r
    print("| size | prompt bytes | ours s | ours peak MiB | PyTorch eager s | PyTorch peak MiB "
          "| PyTorch compiled s | eager / ours | compiled / ours |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for (size, nb), d in sorted(gen.items()):
        o, e, c = d.get("dir7-opencl"), d.get("pytorch-eager"), d.get("pytorch-compiled")
        f = lambda r, k: f"{r[k]:.4f}" if r and r.get(k, -1) > 0 else "-"  # noqa: E731
        re_ = f"{e['s'] / o['s']:.2f}x" if o and e and o["s"] > 0 else "-"
        rc = f"{c['s'] / o['s']:.2f}x" if o and c and o["s"] > 0 and c["s"] > 0 else "-"
        print(f"| {size} | {nb} | {f(o, 's')} | {f(o, 'peak_device_mib')} | {f(e, 's')} "
              f"| {f(e, 'peak_device_mib')} | {f(c, 's')} | {re_} | {rc} |")
    prof = [r for r in rows if r["bench"] == "profile"]
    if prof:
        total = sum(r["ms_per_run"] for r in prof)
        print()
        print("| kernel | launches per generation | device ms | share |")
        print("| --- | ---: | ---: | ---: |")
        for r in sorted(prof, key=lambda r: -r["ms_per_run"]):
            print(f"| {r['kernel']} | {r['launches_per_run']:.0f} | {r['ms_per_run']:.1f} "
                  f"| {100 * r['ms_per_run'] / total:.0f}% |")

    train_table(rows)


def train_table(rows):
    """The training step by batch; each file is one command, so a ratio compares
    rows of the same file only (eager, ours, at the same batch)"""
    runs = [r for r in rows if r["bench"] == "train-step" and r.get("ms", -1) > 0]
    if not runs:
        return
    eager = {(r["file"], r["batch"]): r["ms"] for r in runs if r["wkv"] == "ours" and not r["compiled"]}
    print()
    print("| file | batch | WKV | compiled | ms per step | images/s | peak MiB | eager ours / this |")
    print("| --- | ---: | --- | --- | ---: | ---: | ---: | ---: |")
    for r in runs:
        e = eager.get((r["file"], r["batch"]))
        ratio = f"{e / r['ms']:.2f}x" if e else "-"
        print(f"| {r['file']} | {r['batch']} | {r['wkv']} | {'yes' if r['compiled'] else 'no'} | {r['ms']:.1f} "
              f"| {r['images_per_s']:.0f} | {r['peak_device_mib']:.0f} | {ratio} |")


if __name__ == "__main__":
    main()
