#!/usr/bin/env python3
"""Whole-pipeline comparison on one core: `trail-insights replay` against `gzip -dc` (decompression
alone) and against bench/reference.py (gzip + json + Counter), on the same files.

Usage: pipeline.py BINARY OUT_DIR CORPUS_DIR...   (each CORPUS_DIR holds one corpus)

Every command runs pinned to CPU 0 (taskset -c 0) RUNS times; the table shows the median wall
time and the peak RSS. Peak RSS is the child's maximum resident set size as reported by
`/usr/bin/time -v` (the kernel's getrusage figure); without /usr/bin/time the same figure is read
with os.wait4. Writes OUT_DIR/pipeline.md (the table) and OUT_DIR/pipeline.json.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = int(os.environ.get("RUNS", "3"))
PYTHON_MAX_EVENTS_PER_FILE = 200_000
HERE = os.path.dirname(os.path.abspath(__file__))
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def log_files(corpus):
    out = []
    for root, _, names in os.walk(corpus):
        out += [os.path.join(root, n) for n in names if n.endswith(".json.gz")]
    return sorted(out)


def measure(cmd):
    """(wall seconds, cpu seconds, peak RSS in KB) of one run of cmd pinned to CPU 0."""
    cmd = ["taskset", "-c", "0"] + cmd
    if GNU_TIME:
        with tempfile.NamedTemporaryFile("r") as report:
            start = time.monotonic()
            subprocess.run([GNU_TIME, "-v", "-o", report.name] + cmd, check=True,
                           stdout=subprocess.DEVNULL)
            wall = time.monotonic() - start
            fields = dict(line.strip().rsplit(": ", 1) for line in report if ": " in line)
        cpu = float(fields["User time (seconds)"]) + float(fields["System time (seconds)"])
        return wall, cpu, int(fields["Maximum resident set size (kbytes)"])
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    if status != 0:
        raise SystemExit(f"{cmd} failed with status {status}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def run(name, make_cmd):
    walls, cpus, rss = [], [], []
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory() as scratch:
            w, c, r = measure(make_cmd(scratch))
        walls.append(w)
        cpus.append(c)
        rss.append(r)
    return {"tool": name, "wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus),
            "peak_rss_mb": max(rss) / 1024}


def main():
    binary, out_dir, corpora = sys.argv[1], sys.argv[2], sys.argv[3:]
    os.makedirs(out_dir, exist_ok=True)
    results = []
    for corpus in corpora:
        files = log_files(corpus)
        gz_bytes = sum(os.path.getsize(f) for f in files)
        summary = json.load(open(os.path.join(corpus, "corpus.json")))
        events = summary["events"]
        rows = [
            run("gzip -dc", lambda s: ["gzip", "-dc"] + files),
            run("trail-insights replay", lambda s: [binary, "replay", corpus, "--state",
                                                    os.path.join(s, "state"), "--out",
                                                    os.path.join(s, "out")]),
        ]
        # json.load holds a whole file as Python objects (~7 KB per event): 7 GB for a
        # million-event file. Run it only where it fits comfortably.
        if summary["events_per_file"] <= PYTHON_MAX_EVENTS_PER_FILE:
            rows.append(run("python reference", lambda s: [
                sys.executable, os.path.join(HERE, "reference.py"), corpus]))
        for r in rows:
            r.update(corpus=os.path.basename(corpus.rstrip("/")), events=events,
                     files=len(files), gz_mb=gz_bytes / 1e6)
        results += rows
        print_table(rows)
    with open(os.path.join(out_dir, "pipeline.json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(out_dir, "pipeline.md"), "w") as f:
        f.write(table(results))
    print(table(results))


def table(results):
    by = {(r["corpus"], r["tool"]): r for r in results}
    lines = ["| corpus | events | files | gzip MB | tool | wall s (median of %d) | CPU s | "
             "events per CPU s | peak RSS MB | CPU ÷ gzip -dc | wall ÷ gzip -dc | "
             "Python ÷ replay (CPU) |" % RUNS,
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        gz = by[(r["corpus"], "gzip -dc")]
        rep = by.get((r["corpus"], "trail-insights replay"))
        py = by.get((r["corpus"], "python reference"))
        speedup = (f"{ratio(py['cpu_s'], rep['cpu_s'], '.1f')}×"
                   if r["tool"] == "trail-insights replay" and py else "")
        lines.append(
            f"| {r['corpus']} | {r['events']:,} | {r['files']} | {r['gz_mb']:.1f} | {r['tool']} | "
            f"{r['wall_s']:.3f} | {r['cpu_s']:.2f} | {r['events'] / max(r['cpu_s'], 1e-3):,.0f} | "
            f"{r['peak_rss_mb']:.1f} | {ratio(r['cpu_s'], gz['cpu_s'])} | "
            f"{ratio(r['wall_s'], gz['wall_s'])} | {speedup} |")
    return "\n".join(lines) + "\n"


def ratio(a, b, fmt=".2f"):
    """a ÷ b, or "n/a" when b is below the timer's resolution (10 ms for /usr/bin/time)."""
    return format(a / b, fmt) if b >= 0.01 else "n/a"


def print_table(rows):
    for r in rows:
        print(f"  {r['corpus']:>8} {r['tool']:<24} {r['wall_s']:8.3f} s wall {r['cpu_s']:8.3f} s CPU"
              f"  {r['peak_rss_mb']:7.1f} MB",
              flush=True)


if __name__ == "__main__":
    main()
