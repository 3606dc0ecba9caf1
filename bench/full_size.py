"""Benchmark: the whole DVC DAG in a scratch copy of the project at a size multiplier, per stage.

    python bench/full_size.py --sizes 1 3                  # 1x and 3x the default sample
    python bench/full_size.py --sizes 1 3 full --fps 30    # ... and the release's size and rate
    python bench/full_size.py --sizes 0.1 0.2              # a smoke run of a few minutes
    python bench/full_size.py --report SCRATCH/results.json   # print a finished run again

For each size it copies the repository's code (empathic/, stages/, dvc.yaml, params.yaml with
the `sample` section scaled; the working tree's, or commit REV's with --ref REV) into
SCRATCH/x<size>/, runs `git init`, `dvc init`, `dvc config core.analytics false`, then every
stage the evaluate@ stages need, one at a time in DAG order (`dvc repro --single-item <stage>`;
upstream first from `dvc dag --dot`, ties in dvc.yaml's order; stage logs in SCRATCH/x<size>/logs),
and records per stage:

- wall: seconds of the `dvc repro -s` command (DVC's hashing and caching included);
- cpu: user + system seconds of the whole process tree. The tree under the dvc process is
  sampled with psutil every --interval s (0.2) and the last reading of every process seen is
  summed (pool and Dask workers included, whether or not anything waits for them); the
  rusage that os.wait4 returns for the dvc process (every *waited-for* descendant) is a second
  lower bound, and cpu is the larger of the two. A process that lives less than one interval may
  be missed by the first, one that nobody waits for by the second;
- rss: peak resident memory of the tree, the largest sum of RSS over the tree at one sample (it
  counts pages that forked workers share once per process: an upper bound of what the tree holds);
  max1: the largest single process (sampled, or wait4's ru_maxrss when larger);
- out: bytes of the stage's outs (dvc.lock's sizes).

Sizes: a multiplier m scales the default sample (params.yaml: sessions x dialogs_per_session x
turns_per_dialog utterances) to m times its utterances. Sessions stay as they are (the release's
5); dialogues per session scale first (6 -> 18 at 3x), capped at the release's 30, then turns per
dialogue (22 -> up to the release's ~67); below 1x, dialogues go down to 2 and then turns (>= 6).
`full` is the release's size: 5 sessions x 30 dialogues x 67 turns (10,050 utterances; the release
has 10,039). --fps sets `sample.fps` (default: params.yaml's; the release is 30 fps); the face
extractor processes features.face.fps of it whatever the source rate.

Then: the growth exponent per stage between consecutive sizes (log-log slope of wall, cpu and rss
against the number of utterances), the projection for the release (10,039 utterances) from the
largest size, two ways (power: t_L (U/U_L)^e with the last exponent; affine: a + b U through the
last two sizes, a >= 0), and an estimate for N one-core Dask workers from the projected cpu:
serial + (cpu - serial) / min(N, units). serial is the cpu of the processes no worker can take
over (dvc itself and the stage's client, the outermost `python -m stages.*`: reading, hashing,
writing the files); the rest is its descendants' (pool / Dask workers). units caps N where the
params say how many units of work there are (train@: folds x seeds); so the estimate never goes
below the serial part, nor below one unit's share.
Each stage runs with the copy's params (features.workers / training.workers: --workers; others:
--set KEY=VALUE). Never run by `make bench` (it is not bench_*.py): the whole DAG takes ~7 min
at 1x and ~24 min at 3x on 2 cores (issue 22's figures); results.json in SCRATCH keeps every
figure (--report prints them again). Without --keep, data/features/models and DVC's cache of a
size are removed once it is measured.
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RELEASE_UTTERANCES = 10_039
RELEASE_FPS = 30
RELEASE = {"sessions": 5, "dialogs_per_session": 30, "turns_per_dialog": 67}
MAX_DIALOGS, MAX_TURNS = 30, 200
COPIED = ("empathic", "stages", "dvc.yaml", "params.yaml")


# ---------------------------------------------------------------------------------------- sizes

def scaled_sample(base: dict, size: str) -> dict:
    """The `sample` keys that set the corpus size, for a multiplier ('3', '0.1') or 'full'."""
    if size == "full":
        return dict(RELEASE)
    m = float(size)
    if m <= 0:
        raise SystemExit(f"size {size!r}: a multiplier must be > 0")
    s, d0, t0 = (int(base[k]) for k in ("sessions", "dialogs_per_session", "turns_per_dialog"))
    s = min(s, RELEASE["sessions"])
    target = m * s * d0 * t0
    d = min(max(round(d0 * m), 2), MAX_DIALOGS)
    t = min(max(round(target / (s * d)), 6), MAX_TURNS)
    return {"sessions": s, "dialogs_per_session": d, "turns_per_dialog": t}


def size_label(size: str) -> str:
    return "full" if size == "full" else f"{float(size):g}x"


def set_dotted(prm: dict, dotted: str, value) -> None:
    *head, last = dotted.split(".")
    cur = prm
    for k in head:
        cur = cur.setdefault(k, {})
    cur[last] = value


# ---------------------------------------------------------------------------------------- project

def build_project(root: Path, size: str, a) -> dict:
    """Copy the code and params (sample scaled, overrides set) into `root`; git + dvc init."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    if a.ref:          # a commit's files (what landed), not the working tree's
        tar = subprocess.run(["git", "-C", str(REPO), "archive", a.ref, *COPIED],
                             check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(root)], input=tar, check=True)
    else:
        for d in COPIED[:2]:
            shutil.copytree(REPO / d, root / d, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(REPO / "dvc.yaml", root / "dvc.yaml")
        shutil.copy(REPO / "params.yaml", root / "params.yaml")
    prm = yaml.safe_load((root / "params.yaml").read_text())
    prm["sample"].update(scaled_sample(prm["sample"], size))
    if a.fps is not None:
        prm["sample"]["fps"] = a.fps
    if a.workers is not None:
        for k in ("features.workers", "training.workers"):
            set_dotted(prm, k, a.workers)
    if a.executor:
        for k in ("features.executor", "training.executor"):
            set_dotted(prm, k, a.executor)
    for kv in a.set or []:
        k, _, v = kv.partition("=")
        set_dotted(prm, k, yaml.safe_load(v))
    (root / "params.yaml").write_text(yaml.safe_dump(prm, sort_keys=False))
    env = stage_env()
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    for cmd in (git + ["init", "-q"], [str(BIN / "dvc"), "init", "-q"],
                [str(BIN / "dvc"), "config", "core.analytics", "false"], git + ["add", "-A"],
                git + ["commit", "-qm", "project"]):     # dvclive needs a commit to start
        subprocess.run(cmd, cwd=root, env=env, check=True, capture_output=True)
    return prm


def stage_env() -> dict:
    """The stages' environment: the venv first on PATH (dvc.yaml says `python`), the copied
    package the one that runs (cwd first on sys.path), offline model hubs."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("NUMBA_CACHE_DIR", str(REPO / ".numba_cache"))
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    return env


def stage_order(root: Path) -> tuple[list[str], dict[str, set]]:
    """The stages the evaluate@ stages need (`dvc dag --dot`'s edges), upstream first; ties in
    dvc.yaml's order (`dvc stage list`); and each stage's direct upstream stages."""
    env = stage_env()

    def dvc(*args) -> str:
        return subprocess.run([str(BIN / "dvc"), *args], cwd=root, env=env, check=True,
                              capture_output=True, text=True).stdout
    names = dvc("stage", "list", "--name-only").split()
    edges = re.findall(r'"([^"]+)" -> "([^"]+)"', dvc("dag", "--dot"))
    ups: dict[str, set] = {n: set() for n in names}
    for a, b in edges:
        ups.setdefault(b, set()).add(a)
    need, todo = set(), [n for n in names if n.startswith("evaluate@")] or list(names)
    while todo:
        n = todo.pop()
        if n not in need:
            need.add(n)
            todo.extend(ups.get(n, ()))
    order: list[str] = []
    while len(order) < len(need):
        ready = [n for n in names if n in need and n not in order and ups[n] <= set(order)]
        if not ready:
            raise SystemExit(f"dvc dag: a cycle among {sorted(need - set(order))}")
        order.append(ready[0])
    return order, ups


# ---------------------------------------------------------------------------------------- measure

def run_measured(cmd: list[str], cwd: Path, log: Path, interval: float) -> dict:
    """Run `cmd`, sampling its process tree; wall, cpu (see the module doc), rss, max1, procs."""
    env = stage_env()
    with open(log, "wb") as fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT)
        seen: dict[tuple, float] = {}          # (pid, create_time) -> last user + system
        info: dict[tuple, tuple] = {}          # (pid, create_time) -> (ppid, runs stages.*)
        peak_tree = peak_one = 0
        root = psutil.Process(proc.pid)
        ru = None
        try:
            while True:
                tree_rss = 0
                try:
                    procs = [root] + root.children(recursive=True)
                except psutil.Error:
                    procs = []
                for p in procs:
                    try:
                        with p.oneshot():
                            key = (p.pid, p.create_time())
                            t = p.cpu_times()
                            rss = p.memory_info().rss
                            if key not in info:
                                info[key] = (p.ppid(), any(w.startswith("stages.")
                                                           for w in p.cmdline()[1:3]))
                    except psutil.Error:
                        continue
                    seen[key] = t.user + t.system
                    tree_rss += rss
                    peak_one = max(peak_one, rss)
                peak_tree = max(peak_tree, tree_rss)
                pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                time.sleep(interval)
        except BaseException:          # interrupted: end the stage's tree too
            _kill_tree(root)
            raise
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    sampled = sum(seen.values())
    waited = ru.ru_utime + ru.ru_stime
    cpu = max(sampled, waited)
    workers = sum(v for k, v in seen.items() if _is_worker(k, info))
    return {"rc": proc.returncode, "wall": wall, "cpu": cpu, "cpu_sampled": sampled,
            "cpu_waited": waited, "cpu_serial": max(cpu - workers, 0.0), "rss": peak_tree,
            "max1": max(peak_one, ru.ru_maxrss * 1024), "procs": len(seen)}


def _kill_tree(root: psutil.Process) -> None:
    try:
        procs = root.children(recursive=True) + [root]
    except psutil.Error:
        return
    for p in procs:
        try:
            p.terminate()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=10)


def _is_worker(key: tuple, info: dict) -> bool:
    """A descendant of the stage's client (the outermost `python -m stages.*` process): a pool
    or Dask worker (forked ones share the client's command line, so the tree decides)."""
    by_pid = {k[0]: k for k in info}
    cur, hops = info.get(key), 0
    while cur is not None and hops < 64:
        parent = by_pid.get(cur[0])
        if parent is None:
            return False
        pinfo = info[parent]
        grand = info.get(by_pid.get(pinfo[0]), (None, False))
        if pinfo[1] and not grand[1]:
            return True
        cur, hops = pinfo, hops + 1
    return False


def out_bytes(root: Path, stage: str) -> int:
    """Sum of the sizes dvc.lock records for the stage's outs (the files where it has none)."""
    try:
        lock = yaml.safe_load((root / "dvc.lock").read_text())["stages"][stage]
    except (OSError, KeyError, TypeError):
        return 0
    total = 0
    for o in lock.get("outs", []):
        if "size" in o:
            total += int(o["size"])
        else:
            path = root / o["path"]
            files = [path] if path.is_file() else path.rglob("*") if path.exists() else []
            total += sum(f.stat().st_size for f in files if f.is_file())
    return total


def corpus_counts(root: Path, prm: dict) -> dict:
    """Utterances (data/pairs/utterances.csv rows) and video frames (the sample stage's line)."""
    n = 0
    utt = root / "data/pairs/utterances.csv"
    if utt.exists():
        with open(utt, encoding="utf-8") as f:
            import csv
            n = sum(1 for _ in csv.DictReader(f))
    frames = None
    log = root / "logs" / "sample@iemocap.log"
    if log.exists():
        m = re.search(r"\(([\d,]+) frames\)", log.read_text(errors="replace"))
        frames = int(m.group(1).replace(",", "")) if m else None
    return {"utterances": n, "frames": frames, "fps": prm["sample"]["fps"],
                "sample": {k: prm["sample"][k] for k in RELEASE}}


def run_size(size: str, a, scratch: Path) -> dict:
    root = scratch / f"x{size}"
    prm = build_project(root, size, a)
    order, ups = stage_order(root)
    if a.stages:
        order = [s for s in order if re.search(a.stages, s)]
    (root / "logs").mkdir()
    s = prm["sample"]
    print(f"== {size_label(size)}: {s['sessions']} sessions x {s['dialogs_per_session']} "
          f"dialogues x {s['turns_per_dialog']} turns, {s['fps']} fps; {len(order)} stages in "
          f"{root}", flush=True)
    res = {"size": size, "root": str(root), "stages": {}, "order": order, "failed": [],
           "skipped": []}
    for st in order:
        if ups.get(st, set()) & set(res["failed"] + res["skipped"]):
            res["skipped"].append(st)          # an upstream stage failed: nothing to run on
            continue
        m = run_measured([str(BIN / "dvc"), "repro", "--single-item", st], root,
                         root / "logs" / f"{st}.log", a.interval)
        m["out"] = out_bytes(root, st)
        res["stages"][st] = m
        print(f"   {st:<22} {m['wall']:8.1f} s wall {m['cpu']:8.1f} s cpu "
              f"{m['rss'] / 2**20:8.0f} MiB", flush=True)
        if m["rc"] != 0:
            tail = (root / "logs" / f"{st}.log").read_text(errors="replace")[-2000:]
            print(f"   {st} failed ({m['rc']}); the end of its log:\n{tail}", file=sys.stderr,
                  flush=True)
            res["failed"].append(st)
    res.update(corpus_counts(root, prm))
    res["disk"] = sum(f.stat().st_size for f in root.rglob("*") if f.is_file() and
                      not f.is_symlink())
    return res


# ---------------------------------------------------------------------------------------- report

def fmt_s(x: float) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    if x >= 3600:
        return f"{x / 3600:.2f} h"
    return f"{x / 60:.1f} m" if x >= 600 else f"{x:.1f}"


def fmt_b(x: float) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    for unit, k in (("G", 2**30), ("M", 2**20), ("k", 2**10)):
        if x >= k:
            return f"{x / k:.1f}{unit}" if x < 100 * k else f"{x / k:.0f}{unit}"
    return f"{x:.0f}"


def slope(y0: float, y1: float, u0: int, u1: int) -> float:
    if min(y0, y1) <= 0 or u0 <= 0 or u1 <= 0 or u0 == u1:
        return float("nan")
    return math.log(y1 / y0) / math.log(u1 / u0)


def table_size(r: dict) -> None:
    st = r["stages"]
    print(f"\n{size_label(r['size'])}: {r['utterances']:,} utterances, "
          f"{(r['frames'] or 0):,} frames at {r['fps']} fps, {len(st)} stages"
          + "".join(f"\n{k}: {', '.join(v)}" for k, v in
                    (("failed (*: figures to the failure)", _listed(r.get("failed"))),
                     ("skipped (an upstream stage failed)", r.get("skipped") or [])) if v))
    print(f"{'stage':<22}{'wall s':>9}{'cpu s':>9}{'cpu/wall':>9}{'serial':>8}{'rss':>8}"
          f"{'max1':>8}{'procs':>6}{'out':>8}")
    tot = {"wall": 0.0, "cpu": 0.0, "serial": 0.0, "rss": 0, "max1": 0, "out": 0}
    for name, m in st.items():
        ser = m["cpu_serial"] / m["cpu"] if m["cpu"] else 0
        name = name if m["rc"] == 0 else f"{name}*"
        print(f"{name:<22}{fmt_s(m['wall']):>9}{fmt_s(m['cpu']):>9}"
              f"{m['cpu'] / max(m['wall'], 1e-9):>9.2f}{ser:>8.0%}{fmt_b(m['rss']):>8}"
              f"{fmt_b(m['max1']):>8}{m['procs']:>6}{fmt_b(m['out']):>8}")
        tot["wall"] += m["wall"]
        tot["cpu"] += m["cpu"]
        tot["serial"] += m["cpu_serial"]
        tot["rss"] = max(tot["rss"], m["rss"])
        tot["max1"] = max(tot["max1"], m["max1"])
        tot["out"] += m["out"]
    print(f"{'whole DAG':<22}{fmt_s(tot['wall']):>9}{fmt_s(tot['cpu']):>9}"
          f"{tot['cpu'] / max(tot['wall'], 1e-9):>9.2f}"
          f"{tot['serial'] / max(tot['cpu'], 1e-9):>8.0%}{fmt_b(tot['rss']):>8}"
          f"{fmt_b(tot['max1']):>8}{'':>6}{fmt_b(tot['out']):>8}")
    print(f"scratch {fmt_b(r['disk'])} on disk (DVC's cache included); "
          f"serial = cpu of dvc and the stage's client process")


def _listed(v) -> list[str]:
    return [v] if isinstance(v, str) else list(v or [])


def _ok(r: dict) -> dict:
    """The stages that ran to the end."""
    return {n: m for n, m in r["stages"].items() if m["rc"] == 0}


def growth(results: list[dict]) -> None:
    pairs = list(itertools.pairwise(results))
    if not pairs:
        return
    names = [n for n in results[-1]["order"] if all(n in _ok(r) for r in results)]
    print("\ngrowth exponent d log(cost) / d log(utterances) between consecutive sizes "
          "(1 = linear;\nthe stages that ran to the end at every size; whole DAG: their sum, "
          "rss their max)")
    for i in range(0, len(pairs), 3):
        chunk = pairs[i:i + 3]
        print(f"{'':<22}" + "".join(f"{size_label(r0['size']) + '->' + size_label(r1['size']):>24}"
                                    for r0, r1 in chunk))
        print(f"{'stage':<22}" + f"{'wall':>8}{'cpu':>8}{'rss':>8}" * len(chunk))
        for n in names + ["whole DAG"]:
            row = f"{n:<22}"
            for r0, r1 in chunk:
                u0, u1 = r0["utterances"], r1["utterances"]
                for k in ("wall", "cpu", "rss"):
                    y0, y1 = (total(r, k, names) if n == "whole DAG" else r["stages"][n][k]
                              for r in (r0, r1))
                    e = slope(y0, y1, u0, u1)
                    row += f"{e:>8.2f}" if math.isfinite(e) else f"{'-':>8}"
            print(row)


def total(r: dict, k: str, names: list[str]) -> float:
    vals = [r["stages"][n][k] for n in names]
    return max(vals) if k in ("rss", "max1") else sum(vals)


def project(y_l: float, u_l: int, e: float, y_p=None, u_p=None, u=RELEASE_UTTERANCES):
    """(power, affine) projections of a cost to `u` utterances from the largest size."""
    power = y_l * (u / u_l) ** (max(e, 0.0) if math.isfinite(e) else 1.0)
    affine = float("nan")
    if y_p is not None and u_p and u_p != u_l:
        b = (y_l - y_p) / (u_l - u_p)
        a0 = y_l - b * u_l
        if b < 0:                  # a cost that fell with more data: noise, held flat
            a0, b = y_l, 0.0
        elif a0 < 0:               # no negative fixed cost: through the origin and y_l
            a0, b = 0.0, y_l / u_l
        affine = a0 + b * u
    return power, affine


def projection(results: list[dict], dask_n: list[int], prm: dict) -> None:
    big = results[-1]
    prev = results[-2] if len(results) > 1 else None
    u_l = big["utterances"]
    if not u_l:
        return
    names = [n for n in big["order"] if n in _ok(big) and (prev is None or n in _ok(prev))]
    ratio = RELEASE_UTTERANCES / u_l
    fr = ""
    if big["frames"]:
        frames = big["frames"] * ratio * RELEASE_FPS / big["fps"]
        fr = f", ~{frames / 1e6:.2f} M frames at {RELEASE_FPS} fps"
    print(f"\nprojection for the release ({RELEASE_UTTERANCES:,} utterances{fr})\nfrom "
          f"{size_label(big['size'])} ({u_l:,} utterances, x{ratio:.1f})"
          + ("" if prev else ": one size, linear"))
    print("seconds (m: minutes, h: hours); power: x (U / U_L)^e, e the last exponent (>= 0);\n"
          "affine: a + b U through the last two sizes (a, b >= 0); rss: power (whole DAG: max)")
    if big["fps"] != RELEASE_FPS:
        print(f"measured at {big['fps']} fps video: the rows of sample and extract@face are for "
              f"{big['fps']} fps (both grow\nwith source frames; the release has "
              f"{RELEASE_FPS / big['fps']:g}x as many a second)")
    cols = "".join(f"{f'N={n}':>8}" for n in dask_n)
    print(f"{'stage':<22}{'wall pw':>9}{'wall af':>9}{'cpu pw':>9}{'cpu af':>9}{'rss pw':>8}"
          f"{'':>2}{cols}")
    sums = [float("nan")] * (4 + len(dask_n))
    rss_max = float("nan") if prev is None else 0.0
    for n in names + ["whole DAG"]:
        if n == "whole DAG":
            vals = sums
            rss = rss_max
        else:
            m = big["stages"][n]
            p = prev["stages"].get(n) if prev else None
            vals = []
            for k in ("wall", "cpu"):
                e = slope(p[k], m[k], prev["utterances"], u_l) if p else 1.0
                vals += project(m[k], u_l, e, p[k] if p else None,
                                prev["utterances"] if p else None)
            e = slope(p["rss"], m["rss"], prev["utterances"], u_l) if p else float("nan")
            rss = project(m["rss"], u_l, max(e, 0.0))[0] if math.isfinite(e) else float("nan")
            cpu = vals[2] if math.isfinite(vals[2]) else vals[3]
            ser = cpu * (m["cpu_serial"] / m["cpu"] if m["cpu"] else 1.0)
            vals += [dask_estimate(cpu, ser, N, units(n, prm)) for N in dask_n]
            sums = [v if not math.isfinite(s) else s + v if math.isfinite(v) else s
                    for s, v in zip(sums, vals)]
            rss_max = max(rss_max, rss) if math.isfinite(rss) else rss_max
        print(f"{n:<22}" + "".join(f"{fmt_s(v):>9}" for v in vals[:4]) + f"{fmt_b(rss):>8}"
              + f"{'':>2}" + "".join(f"{fmt_s(v):>8}" for v in vals[4:]))
    print("N=k: seconds on k one-core Dask workers = serial + (cpu - serial) / min(k, units), "
          "bounded below\nby serial (the cpu of dvc and the stage's client, which no worker "
          "takes over) and by\n(cpu - serial) / units (train@: units = folds x seeds); "
          "from the power cpu projection.")


def units(stage: str, prm: dict) -> int | None:
    """Units of work a stage can spread over workers, where the params say (train: folds x
    seeds); None: many (one per dialogue or batch of utterances)."""
    if stage.startswith("train@"):
        t = prm.get("tasks", {}).get(stage.split("@", 1)[1], {})
        return int(prm["sample"]["sessions"]) * int(t.get("seeds", 1) or 1)
    return None


def dask_estimate(cpu: float, serial: float, n: int, n_units: int | None) -> float:
    """Wall seconds on n workers: serial + parallel / min(n, units); never below serial."""
    par = max(cpu - serial, 0.0)
    k = min(n, n_units) if n_units else n
    return serial + par / max(k, 1)


def report(results: list[dict], a, prm: dict) -> None:
    for r in results:
        table_size(r)
    results = [r for r in results if r["utterances"]]
    results.sort(key=lambda r: r["utterances"])
    growth(results)
    if results:
        projection(results, a.dask_workers, prm)


# ---------------------------------------------------------------------------------------- main

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="+", default=["1", "3"],
                    help="multipliers of the default sample and/or 'full' (default: 1 3)")
    ap.add_argument("--size", choices=["full"], help="add the release's size (= --sizes ... full)")
    ap.add_argument("--fps", type=int, default=None,
                    help="sample.fps (default: params.yaml's; the release: 30)")
    ap.add_argument("--scratch", type=Path, default=None,
                    help="folder for the copies (default: a new temporary folder; kept)")
    ap.add_argument("--workers", type=int, default=None,
                    help="features.workers and training.workers (default: params.yaml's; 0 = all "
                         "cores)")
    ap.add_argument("--executor", choices=["processes", "dask"], default=None,
                    help="features.executor and training.executor (default: params.yaml's)")
    ap.add_argument("--set", action="append", metavar="KEY=VALUE",
                    help="any other param of the copies, e.g. tasks.emotion.seeds=1 (repeatable)")
    ap.add_argument("--ref", metavar="REV",
                    help="copy the code and params of this commit (git archive; default: the "
                         "working tree)")
    ap.add_argument("--stages", metavar="REGEX", help="only the stages whose name matches")
    ap.add_argument("--interval", type=float, default=0.2, help="sampling interval (s)")
    ap.add_argument("--dask-workers", type=int, nargs="+", default=[2, 4, 8, 16],
                    help="worker counts of the estimate (default: 2 4 8 16)")
    ap.add_argument("--keep", action="store_true",
                    help="keep each size's copy (default: remove data, features, models and the "
                         "DVC cache after measuring; the logs and results stay)")
    ap.add_argument("--report", type=Path, metavar="RESULTS_JSON",
                    help="print the figures of a finished run again; runs nothing")
    a = ap.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))     # SIGTERM ends the stage too
    if a.report:
        saved = json.loads(a.report.read_text())
        report(saved["results"], a, saved["params"])
        return
    sizes = [s if s == "full" else f"{float(s):g}" for s in a.sizes + ([a.size] if a.size else [])]
    for s in sizes:
        if s != "full" and float(s) <= 0:
            ap.error(f"size {s}: must be > 0")
    scratch = a.scratch or Path(__import__("tempfile").mkdtemp(prefix="full_size_"))
    scratch.mkdir(parents=True, exist_ok=True)
    prm = yaml.safe_load((REPO / "params.yaml").read_text())
    print(f"full_size: sizes {' '.join(size_label(s) for s in sizes)} in {scratch}; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}", flush=True)
    results = []
    out = scratch / "results.json"
    for s in sizes:
        r = run_size(s, a, scratch)
        r["load_after"] = os.getloadavg()[0]
        results.append(r)
        out.write_text(json.dumps({"params": prm, "argv": sys.argv[1:], "results": results},
                                  indent=1))
        if not a.keep:
            root = Path(r["root"])
            for d in ("data", "features", "models", ".dvc/cache"):
                shutil.rmtree(root / d, ignore_errors=True)
    print(f"\nload average at the end {os.getloadavg()[0]:.1f} (shared machines inflate wall, "
          f"not cpu); results: {out}")
    report(results, a, prm)


if __name__ == "__main__":
    main()
