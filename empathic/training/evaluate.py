"""Evaluation for every task: test scores over folds x seeds, selection, paired comparisons.

Per fold and seed every checkpoint (and the task's ensembles over them) predicts the fold's
validation and test rows once; the test rows are scored beside the task's baselines on the same
rows. `best` is chosen on validation only: the task's selection metric averaged over folds and
seeds, ties broken by the mean validation loss, then by the declared order (simplest first); ties
are recorded. The selected model is compared with every baseline and with the best
single-modality model (chosen on validation too) on the pooled test rows of all folds: a paired
delta, a bootstrap interval over dialogues and the p-value from the same resamples
(empathic.scoring.compare). Below the minimum data (empathic.folds.size_warnings) the report
lists the warnings and no comparison is `better`. Written by empathic.scoring.report.write: the
headline DVC reads (metrics/<task>.json, metrics/<task>/table/) and the full report
(metrics/<task>/report.json).

Memory is bounded by a fold, not by the corpus: a fold and seed's predictions are scored and
dropped; what stays per entry and seed is each comparison metric's per-row arrays (Task.row_stat
on the fold's test rows: row arrays of whole test sessions, so those of all folds one after
another are the pooled rows'), and for the figures the first seed's predictions of the rows
Task.figure_rows names (default: every row).
"""
from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..errors import EmpathicError
from ..scoring import compare, report
from . import checkpoint
from .data import FeatureBank, Rows, Tables, concat_rows, fold_masks
from .protocol import prepare, refit_enabled, rows_info, too_small, unit_dir
from .task import FoldResult, Task

AGGREGATION = ("mean/std: over every fold and seed; per_fold: mean over seeds; per_seed: mean "
               "over folds; pooled (comparison metrics): all folds' test rows scored at once, "
               "mean over seeds")


def protocol(folds_doc: dict, folds: list[dict], refit: bool) -> str:
    f = folds[0]
    name = f"{folds_doc.get('protocol', 'unknown')}: {len(f['train'])} train / {len(f['val'])} val" \
           f" / {len(f['test'])} test sessions per fold"
    return name + (" (models refit on train + val for the early-stopped epoch count)" if refit else "")


def environment(device: str) -> dict:
    env = {"device": device}
    for pkg in ("torch", "scikit-learn", "dvc"):
        try:
            env[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            env[pkg] = "not installed"
    return env


def _outputs(task: Task, spec, model: checkpoint.Predictor, rows: Rows) -> dict[str, np.ndarray]:
    raw = model.predict({m: rows.X[m] for m in model.inputs}, rows.extra.get("dialog"),
                        rows.extra.get("pos"))
    mask = task.scored_mask(rows)
    pred = task.predictions({k: v[mask] for k, v in raw.items()})
    return task.model_predictions(spec, rows.take(mask), pred)


def evaluate(task: Task, tables: Tables, bank: FeatureBank, models_dir: Path,
             metrics_path: Path, figures_dir: Path | None) -> dict:
    rows, folds = prepare(task, tables, bank)
    specs = task.models(rows)
    seeds = list(task.hp.seeds)
    scores: dict[str, list] = {}      # entry -> [metrics per (fold, seed)]
    base: dict[str, list] = {}
    sel: dict[str, list] = {}         # selectable entry -> [validation value per (fold, seed)]
    vloss: dict[str, list] = {}
    per_row: dict[str, dict[int, list]] = {}   # entry -> seed -> [{metric: row arrays} per fold]
    stats: dict[str, object] = {}     # metric -> statistic of its row arrays
    tests = [task.scored(rows.take(fold_masks(rows.groups, f)[2])) for f in folds]
    shown = task.figure_rows(sum(len(t) for t in tests))
    results, start = [], 0
    for fold, test in zip(folds, tests):
        tr, va, te = fold_masks(rows.groups, fold)
        train, val = (task.scored(rows.take(m)) for m in (tr, va))
        for seed in seeds:
            d = models_dir / unit_dir(fold, seed)
            out, ref = {}, None
            for spec in specs:
                model = checkpoint.load_model(d / f"{spec.name}.pt", task.hp.device)
                if model.fold != fold:
                    raise EmpathicError(f"{d}/{spec.name}.pt was trained on another split; "
                                        f"run `dvc repro train@{task.name}`")
                ref = ref or model
                out[spec.name] = {"val": _outputs(task, spec, model, rows.take(va)),
                                  "test": _outputs(task, spec, model, rows.take(te))}
                vloss.setdefault(spec.name, []).append(model.info.get("best_val_loss", np.inf))
            ens = d / "ensembles.json"
            if ens.is_file():
                out.update(task.apply_ensembles(json.loads(ens.read_text()), out, test, fold))
            for name, o in out.items():
                scores.setdefault(name, []).append(task.score(test, o["test"], ref))
                _keep_rows(task, per_row, stats, name, seed, test, o["test"])
                if o["val"] is not None and task.selectable(name):
                    sel.setdefault(name, []).append(task.selection_value(val, o["val"]))
            bl = task.baselines(train, test, ref, seed)
            for name, p in bl.items():
                base.setdefault(name, []).append(task.score(test, p, ref))
                _keep_rows(task, per_row, stats, name, seed, test, p)
            if seed == seeds[0]:
                results.append(_fold_result(fold, seed, test, {**{k: v["test"] for k, v in
                                                                  out.items()}, **bl},
                                            shown, start))
            del out, bl                   # this fold's predictions: only their row arrays stay
        start += len(test)
    order = [s.name for s in specs] + [n for n in scores if n not in {s.name for s in specs}]
    best, selection = select(task, sel, vloss, order)
    singles = [s.name for s in specs if s.single and s.name in sel]
    best_single = select(task, {n: sel[n] for n in singles}, vloss, order)[0] if singles else None
    truth = concat_rows(tests)
    pooled = {n: {s: {m: tuple(np.concatenate(a) for a in zip(*[f[m] for f in per]))
                      for m in per[0]} for s, per in by_seed.items()}
              for n, by_seed in per_row.items()}
    warnings = too_small(rows, folds)
    comps = comparisons(task, truth, pooled, stats, best, best_single, list(base), bool(warnings))
    doc = report.build(
        protocol(tables.folds, folds, refit_enabled(task)), [f["name"] for f in folds], seeds,
        len(truth), scores, base, best=best, aggregation=AGGREGATION,
        pooled=pooled_figures(pooled, stats),
        selection=selection, comparisons=comps, environment=environment(ref.device.type),
        **({"rows": rows_info(rows)} | task.report_extra(rows)),
        uses_future_turns=[s.name for s in specs if s.uses_future],
        **({"warnings": warnings} if warnings else {}))
    report.write(task.name, metrics_path, doc)
    if figures_dir is not None:
        with atomic_path(figures_dir) as tmp:
            tmp.mkdir()
            task.figures(tmp, results, best)
    return doc


def select(task: Task, sel: dict[str, list], vloss: dict[str, list],
           order: list[str]) -> tuple[str, dict]:
    """The best entry on validation: metric, then validation loss, then declared order."""
    if not sel:
        raise EmpathicError(f"{task.name}: no model has out-of-sample validation predictions")
    metric, higher = task.selection
    sign = 1 if higher else -1
    value = {n: round(float(np.mean(v)), 6) for n, v in sel.items()}
    loss = {n: float(np.mean(vloss.get(n, [np.inf]))) for n in sel}
    ranked = sorted(sel, key=lambda n: (-sign * value[n], loss[n], order.index(n)))
    best = ranked[0]
    tied = [n for n in ranked if value[n] == value[best]]
    return best, {"metric": f"validation {metric}", "higher_is_better": higher,
                  "values": {n: value[n] for n in order if n in value},
                  "ties": tied if len(tied) > 1 else [],
                  "tie_break": "mean validation loss, then declared order (simplest first)"}


def _keep_rows(task: Task, per_row: dict, stats: dict, name: str, seed: int, test: Rows,
               pred: dict) -> None:
    """Keep an entry's per-row arrays of every comparison metric on one fold's test rows (not
    its predictions). A task's row arrays are per row and its test folds whole sessions, so
    those of all folds one after another are those of the pooled rows."""
    got = {}
    for metric in task.comparisons_of(test):
        got[metric], stats[metric] = task.row_stat(metric, test, pred)
    per_row.setdefault(name, {}).setdefault(seed, []).append(got)


def _fold_result(fold: dict, seed: int, test: Rows, pred: dict, shown, start: int) -> FoldResult:
    """The fold's FoldResult, only its rows among `shown` (positions in all folds' test rows)."""
    if shown is None:
        return FoldResult(fold, seed, test, pred)
    idx = np.asarray(shown, int)
    idx = idx[(idx >= start) & (idx < start + len(test))] - start
    return FoldResult(fold, seed, test.take(idx),
                      {n: {k: np.asarray(v)[idx] for k, v in p.items()} for n, p in pred.items()})


def _row_tuples(metric: str, by_seed: dict) -> list:
    return [by_seed[s][metric] for s in sorted(by_seed)]


def pooled_figures(pooled: dict, stats: dict) -> dict:
    """Per entry and comparison metric: the statistic of the pooled test rows, mean over seeds."""
    out = {}
    for name, by_seed in pooled.items():
        out[name] = {}
        for metric in next(iter(by_seed.values())):
            rows = _row_tuples(metric, by_seed)
            out[name][metric] = round(float(np.mean([stats[metric](*r) for r in rows])), 6)
    return out


def comparisons(task: Task, truth: Rows, pooled: dict, stats: dict, best: str,
                best_single: str | None, baselines: list[str], too_small: bool = False) -> dict:
    others = list(baselines) + ([best_single] if best_single and best_single != best else [])
    others += [o for a, o in task.extra_comparisons(best, list(pooled)) if a == best and o not in others]
    groups = truth.extra.get("dialog_key", truth.groups)
    out = {}
    for other in others:
        for metric, higher in task.comparisons_of(truth).items():
            a, b = _row_tuples(metric, pooled[best]), _row_tuples(metric, pooled[other])
            key = f"{best} vs {other}" + (f" ({metric})" if len(task.comparisons_of(truth)) > 1
                                          else "")
            c = compare.paired(stats[metric], a, b, groups, higher)
            if too_small:
                c.update(better=False, withheld="below the minimum data (see warnings)")
            out[key] = {"vs": other, "metric": metric, **c,
                        "resampled": "dialogues" if "dialog_key" in truth.extra else "sessions",
                        "rows": "pooled test rows of all folds"}
    return out


def write_skipped(task: Task, reason: str, protocol: str, metrics_path: Path,
                  figures_dir: Path) -> None:
    """The evaluation outputs of a task skipped on this corpus: the metrics report
    ({"protocol", "skipped"}; the headline says {"skipped": true}) and an empty figures folder."""
    import shutil

    shutil.rmtree(figures_dir, ignore_errors=True)
    figures_dir.mkdir(parents=True)
    report.write(task.name, metrics_path, {"protocol": protocol, "skipped": reason})
    print(f"{task.name}: skipped ({reason})")
