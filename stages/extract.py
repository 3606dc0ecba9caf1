"""Stage extract@<name>: utterances.csv -> features/<modality>.h5 (+ failures manifest).

    python -m stages.extract text     # features/text.h5
    python -m stages.extract audio    # features/audio.h5
    python -m stages.extract face     # features/video.h5 and features/landmarks.h5

Reads params `features.<name>` (its own `max_failed_fraction` overrides the shared one),
`features.workers`, `features.max_failed_fraction`, `data.root`, and `features.executor`
(`processes`, the default, or `dask` with the top-level `dask` section: the units of work run on
a Dask cluster; this stage writes the files, which are byte-identical either way). Failed rows
are NaN with a reason in features/<modality>.failures.csv; the stage exits with one line when
the failed fraction passes features.max_failed_fraction.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from empathic import cli, extractors, store
from empathic.config import params as P
from empathic.atomic import recover, replace_together, write_csv
from empathic.execution import from_params
from empathic.errors import TooManyFailures
from empathic.tables import load_utterances

FEATURES_DIR = Path("features")


def output_paths(modalities, out_dir: Path = FEATURES_DIR) -> list[Path]:
    """Every file an extractor writes: <modality>.h5 and <modality>.failures.csv each."""
    return [out_dir / f"{m}{ext}" for m in modalities for ext in (".h5", ".failures.csv")]


def write_outputs(results: dict, out_dir: Path = FEATURES_DIR) -> None:
    """All files of the run (face: video and landmarks, each with its failures manifest) are
    replaced together: an interruption leaves every old file or every new one."""
    with replace_together(output_paths(results, out_dir)) as tmps:
        tmp = iter(tmps)
        for modality, res in results.items():
            store.write(next(tmp), res.features)
            failed = [u for u, ok in zip(res.features.ids, res.features.ok) if not ok]
            rows = [(u, res.reasons.get(u, "unknown")) for u in failed]
            write_csv(next(tmp), pd.DataFrame(rows, columns=["utt_id", "reason"]))


def check_failures(results: dict, max_failed: float,
                   param: str = "features.max_failed_fraction",
                   out_dir: Path = FEATURES_DIR) -> None:
    for modality, res in results.items():
        n = len(res.features)
        bad = int((~res.features.ok).sum())
        if n and bad / n > max_failed:
            kinds = [r.split(":")[0] for r in res.reasons.values()]   # paths make reasons unique
            top = pd.Series(kinds).value_counts().head(3)
            raise TooManyFailures(
                f"{modality}: {bad}/{n} utterances failed ({bad / n:.1%} > "
                f"{param}={max_failed}); see {Path(out_dir) / modality}.failures.csv"
                f" (most common: {'; '.join(f'{k} x{v}' for k, v in top.items())})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m stages.extract", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name", choices=sorted(extractors.REGISTRY), help="which extractor to run")
    ap.add_argument("--utterances", default="data/pairs/utterances.csv")
    ap.add_argument("--out", default=str(FEATURES_DIR), help="output folder (default: features)")
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)

    for line in recover(output_paths(extractors.REGISTRY[a.name][1], Path(a.out))):
        print(f"extract {a.name}: {line} (left by an interrupted run)")
    prm = P.load()
    section = P.get(prm, f"features.{a.name}")
    workers = P.workers(prm)
    own = P.section(prm, f"features.{a.name}").max_failed_fraction   # overrides the shared one
    param = (f"features.{a.name}.max_failed_fraction" if own is not None
             else "features.max_failed_fraction")
    max_failed = own if own is not None else P.get(prm, param)   # its range: checked on load
    root = Path(P.get(prm, "data.root"))
    utts = load_utterances(a.utterances)

    cls = extractors.get(a.name)
    ex = cls(section, root=root, workers=workers, progress=not a.no_progress)
    absent = ex.unavailable(utts)
    if absent:
        modalities = extractors.REGISTRY[a.name][1]
        results = {m: extractors.unavailable_result(m, utts["utt_id"], absent) for m in modalities}
    else:
        paths = {"data.root": root} if ex.reads_root else None
        with from_params(prm, "features", paths=paths) as executor:
            ex.executor = executor
            results = ex.extract(utts)
    for modality, res in results.items():
        res.features.attrs.setdefault("extractor", a.name)
        res.features.attrs.setdefault("extractor_version", cls.version)
        res.features.attrs.setdefault("params", json.dumps(section, sort_keys=True))
    # Write first (the manifest is what a user needs to see why), then judge the threshold.
    write_outputs(results, Path(a.out))
    for modality, res in results.items():
        bad = int((~res.features.ok).sum())
        print(f"{modality}: {len(res.features)} utterances, {bad} failed -> {a.out}/{modality}.h5")
    if absent:
        print(f"{a.name}: {absent}; every row is marked failed (not an error)")
    else:
        check_failures(results, max_failed, param, Path(a.out))
    return 0


if __name__ == "__main__":
    cli.run(main)
