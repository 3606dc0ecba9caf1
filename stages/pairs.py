"""Stage pairs: corpus at data.root -> data/pairs/{utterances.csv, pairs.csv, folds.json}.

    python -m stages.pairs

Reads params `data` (corpus, root), `pairs` (prompt_gender, response_gender, max_gap_s) and
`split` (scheme, val_sessions, folds). Also writes data/pairs/media_{audio,video,physio}.csv,
the files each extractor reads with their size and modification time (from os.stat: the media
are never read), which the extract stages depend on instead of the whole corpus root.
folds.json also names the corpus (`corpus`: data.corpus, and `sample`: whether data.root is the
built-in sample, which holds the generator's sample_truth.csv). Everything is read and validated
before anything is written; the files are then replaced together (all or none).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from empathic import cli, media
from empathic.config import params as P
from empathic.atomic import recover, replace_together
from empathic.errors import ParamError
from empathic.folds import make_folds, select_folds
from empathic.pairs import extract_pairs, label_report, read_corpus
from empathic.tables import PAIRS_DIR


def read_params(prm: dict) -> dict:
    """All params of this stage, from the schema's validated sections (before the corpus is
    read)."""
    data, pairs, split = (P.section(prm, s) for s in ("data", "pairs", "split"))
    return {"corpus": data.corpus, "root": Path(data.root),
            "prompt_gender": pairs.prompt_gender, "response_gender": pairs.response_gender,
            "max_gap_s": float(pairs.max_gap_s), "scheme": split.scheme,
            "val_sessions": split.val_sessions,
            "folds": split.folds if isinstance(split.folds, str) else list(split.folds)}


OUTPUTS = ["utterances.csv", "pairs.csv", "folds.json", *media.FILES]
SAMPLE_MARKER = "sample_truth.csv"   # the built-in sample generator's truth, in its root


def write_together(texts: dict[Path, str]) -> None:
    """Write every file to a temporary sibling, then rename them all: all or none change (even
    under SIGKILL: the next start completes or discards a half-done replace)."""
    with replace_together(list(texts)) as tmps:
        for tmp, text in zip(tmps, texts.values()):
            tmp.write_text(text, encoding="utf-8")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m stages.pairs", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(PAIRS_DIR), help="output folder (default: data/pairs)")
    a = ap.parse_args(argv)

    out = Path(a.out)
    for line in recover([out / n for n in OUTPUTS]):
        print(f"pairs: {line} (left by an interrupted run)")
    p = read_params(P.load())
    utts = read_corpus(p["corpus"], p["root"])
    for note in utts.attrs.get("notes", []):
        print(f"{p['corpus']}: {note}")
    for line in label_report(utts, p["corpus"]):
        print(f"{p['corpus']}: warning: {line}")
    pairs, stats = extract_pairs(utts, p["prompt_gender"], p["response_gender"], p["max_gap_s"])
    print(f"pairs ({p['prompt_gender']} -> {p['response_gender']}): {stats.summary(p['max_gap_s'])}")
    if pairs.empty:
        raise ParamError(
            f"no pairs with pairs.prompt_gender={p['prompt_gender']}, pairs.response_gender="
            f"{p['response_gender']}, pairs.max_gap_s={p['max_gap_s']} in {p['root']}")
    folds = make_folds(utts["session"], p["scheme"], p["val_sessions"])
    select_folds(folds, p["folds"])  # fail now, not in training, on an unknown fold name
    # what the models will be trained on (checkpoints record it; predict says it)
    folds["corpus"] = {"name": p["corpus"], "sample": (p["root"] / SAMPLE_MARKER).is_file()}

    write_together({
        out / "utterances.csv": utts.to_csv(index=False, lineterminator="\n"),
        out / "pairs.csv": pairs.to_csv(index=False, lineterminator="\n"),
        out / "folds.json": json.dumps(folds, indent=2, allow_nan=False) + "\n",
        **{out / name: text for name, text in media.manifests(utts, p["root"]).items()},
    })
    print(f"{len(utts)} utterances in {utts['dialog'].nunique()} dialogues of "
          f"{utts['session'].nunique()} sessions, {len(pairs)} pairs, {len(folds['folds'])} "
          f"{folds['protocol']} folds -> {out}/")
    return 0


if __name__ == "__main__":
    cli.run(main)
