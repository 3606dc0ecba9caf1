"""Task `emotion`: categorical emotion of an utterance, with early and decision fusion.

Rows are the utterances of utterances.csv whose raw code maps into `tasks.emotion.classes`
(after `tasks.emotion.merge`, e.g. exc -> hap); the others are left out and counted by code.
Every model of a fold is trained and scored on the same rows: an utterance lacking any input
modality of `tasks.emotion.inputs` is dropped and counted, never zero-filled.

Per fold (train, val and test sessions of folds.json), `stages.train emotion` fits:

- members (`tasks.emotion.members`): a single-modality model per named modality (entry
  `<modality>_only`) and `early` (entry `early_fusion`), the response task's fusion encoder over
  all inputs with a classification head; loss `ce`, `weighted_ce` or `class_balanced` (`beta`),
  early-stopped on the validation sessions;
- decision fusion over the members (`tasks.emotion.fusion.decision`; entries `soft_vote`,
  `hard_vote`, `weighted_vote`, `stacking`): `soft` and `hard` voting, `weighted` soft voting with weights fitted on the validation sessions, and `stacking`, a
  logistic-regression meta-learner fitted on out-of-fold member predictions of the non-test
  sessions (each one predicted by members retrained without it, for the members' selected
  epoch count); the leakage guards of empathic.fusion refuse anything else;
- the two-phase modality schedule (`tasks.emotion.phases`): an early-fusion model on `first`,
  then the same network grown by a branch per `add` modality (new weights start at zero
  influence) and fine-tuned on all of them: entries `phase1` and `phase2`.

`stages.evaluate emotion` scores every model on the test sessions (wa, ua, macro_f1,
weighted_f1, per-class precision/recall; impro_* the same on improvised dialogues only, where
the corpus marks them), beside the `majority` and `prior` baselines, picks `best` by mean
validation UA among the models whose validation predictions are out-of-sample (not
`weighted_vote` nor `stacking`, fitted there), and draws confusion matrices of the best model
(all test rows; improvised test rows) in metrics/emotion/figures/.

Models live in models/emotion/<fold>/: <member>.pt, phase1.pt, phase2.pt (checkpoints of the
shared format) and fusion.json (vote weights, the stacking meta-learner and its sessions).
The shared runner's one-model loops do not fit this, so `run_train` / `run_evaluate` (the
stage entry points of Task) are overridden with fold loops over the same shared parts.
"""
from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import numpy as np
import torch

from ... import labels as lbl
from ... import params as P
from ...atomic import atomic_path, write_json
from ...errors import EmpathicError, ParamError
from ...fusion import (Predictions, Stacking, fit_vote_weights, hard_vote, out_of_fold, soft_vote,
                       weighted_soft_vote)
from ...nets.fusion import FUSIONS, FusionNet
from ...nets.losses import LOSSES, make_loss
from ...scoring import classification as cls
from ...scoring import report
from ...scoring.plots_cls import confusion_png
from .. import checkpoint
from ..checkpoint import Predictor
from ..data import FeatureBank, Rows, Tables, apply_scalers, fit_scalers, fold_masks, keep_ok
from ..runner import prepare, rows_info
from ..task import Task
from ..trainer import Trainer, pick_device, small_cpu_threads

DECISIONS = ("soft", "weighted", "hard", "stacking")
FITTED_ON_VAL = ("weighted_vote", "stacking")   # their validation scores are in-sample
EARLY = "early"
TARGET = "emotion"


# -- shared by the utterance-level tasks (emotion, dimensional) ------------------------------------
def improvised_mask(utts) -> np.ndarray | None:
    """True for utterances of improvised dialogues; None when the corpus does not say."""
    if "dialog_kind" in utts.columns:
        kind = utts["dialog_kind"].fillna("").astype(str).str.lower()
    else:
        kind = utts["dialog"].astype(str).str.lower()
    impro = kind.str.contains("impro").to_numpy()
    script = kind.str.contains("script").to_numpy()
    return impro if (impro | script).all() and impro.any() else None


def keep_improvised_flag(rows: Rows) -> Rows:
    """Drop the `impro` flag unless every session has improvised rows (then every test fold
    scores impro_* metrics, and the metric names agree across folds)."""
    impro = rows.extra.get("impro")
    if impro is not None and not all(impro[rows.groups == g].any() for g in set(rows.groups)):
        print("improvised-only metrics left out: some sessions have no improvised dialogue")
        del rows.extra["impro"]
    return rows


def utterance_inputs(utts, bank: FeatureBank, inputs: list[str]):
    """(X, names, checks) for utterance rows: each input modality's pooled vectors."""
    ids = utts["utt_id"].astype(str).to_numpy()
    X, names, checks = {}, {}, []
    for m in inputs:
        X[m], present, ok = bank.lookup(m, ids)
        names[m] = bank.names(m)
        checks += [(f"{m} missing", present), (f"{m} not ok", ok)]
    return X, names, checks


def decision_view(prm: dict, key: str) -> tuple[dict, str, list[str]]:
    """Params with `<key>.fusion` reduced to the encoder kind HParams reads, the kind, and the
    decision-fusion list. `<key>.fusion` is {early: concat|attention, decision: [...]} (or just
    the encoder kind)."""
    cfg = P.get(prm, key)
    fusion = cfg.get("fusion", "concat") if isinstance(cfg, dict) else "concat"
    if isinstance(fusion, str):
        early, decision = fusion, []
    elif isinstance(fusion, dict):
        early = fusion.get("early", "concat")
        decision = fusion.get("decision", []) or []
    else:
        raise ParamError(f"param '{key}.fusion' is {fusion!r}; expected an encoder kind or "
                         f"{{early: {'|'.join(FUSIONS)}, decision: [...]}}")
    if isinstance(decision, str):
        decision = [decision]
    if not isinstance(decision, list) or any(d not in DECISIONS for d in decision):
        raise ParamError(f"param '{key}.fusion.decision' is {decision!r}; expected a list from "
                         f"{list(DECISIONS)}")
    view = copy.deepcopy(prm)
    node = view
    for part in key.split("."):
        node = node[part]
    node["fusion"] = early
    return view, early, decision


def grow(net: FusionNet, add_dims: dict[str, int], seed: int = 0) -> FusionNet:
    """A copy of `net` with a projection branch per new modality appended after the old ones.

    The old modalities keep their weights. With concat fusion the mixing layer's columns of the
    new branches start at zero, so the grown network computes the same function until
    fine-tuning moves them; with attention the new modality tokens get fresh type embeddings
    (the summary token attends to them at once).
    """
    cfg = copy.deepcopy(net.config)
    clash = [m for m in add_dims if m in cfg["input_dims"]]
    if clash:
        raise ValueError(f"modalities {clash} are already inputs of the network")
    cfg["input_dims"] = {**cfg["input_dims"], **add_dims}
    torch.manual_seed(seed)                 # the new branches' initial weights
    new = FusionNet(**cfg)
    old_state = net.state_dict()
    state = new.state_dict()
    for k, v in old_state.items():
        if state[k].shape == v.shape:
            state[k] = v.clone()
        elif k == "encoder.mix.0.weight":           # concat: (hidden, hidden * modalities)
            w = torch.zeros_like(state[k])
            w[:, :v.shape[1]] = v
            state[k] = w
        elif k == "encoder.token_type":             # attention: one row per modality
            state[k][:v.shape[0]] = v
        else:
            raise ValueError(f"cannot grow parameter {k}: {tuple(v.shape)} -> {tuple(state[k].shape)}")
    new.load_state_dict(state)
    return new


def entry_name(member: str) -> str:
    """The metrics-JSON entry of a member: early_fusion, or <modality>_only."""
    return "early_fusion" if member == EARLY else f"{member}_only"


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _one_hot(labels: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k)[labels]


class EmotionTask(Task):
    name = "emotion"

    def __init__(self, prm: dict):
        view, _, self.decision = decision_view(prm, f"tasks.{self.name}")
        super().__init__(view)
        self.prm, self.cfg = prm, P.get(prm, self.key)
        self.labels = lbl.from_params(prm, self.key)
        self.classes = list(self.labels.classes)
        self.loss_kind = P.choice(prm, f"{self.key}.loss", LOSSES, "class_balanced")
        self.beta = float(P.number(prm, f"{self.key}.beta", 0.999, lo=0, hi=0.999999))
        self.members = self._members(P.get(prm, f"{self.key}.members", [*self.inputs, EARLY]))
        if self.decision and len(self.members) < 2:
            raise ParamError(f"param '{self.key}.fusion.decision' needs two or more members")
        self.phases = self._phases(P.get(prm, f"{self.key}.phases", None))
        self._criterion = None

    def _members(self, value) -> dict[str, list[str]]:
        allowed = [*self.inputs, EARLY]
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or any(v not in allowed for v in value):
            raise ParamError(f"param '{self.key}.members' is {value!r}; expected a non-empty list "
                             f"from {allowed}")
        return {v: (list(self.inputs) if v == EARLY else [v]) for v in value}

    def _phases(self, value) -> dict | None:
        if value in (None, False, "off"):
            return None
        key = f"{self.key}.phases"
        if not isinstance(value, dict):
            raise ParamError(f"param '{key}' is {value!r}; expected null or "
                             f"{{first: [...], add: [...], finetune_lr: ...}}")
        first = P.subset(self.prm, f"{key}.first", self.inputs)
        add = P.subset(self.prm, f"{key}.add", self.inputs)
        if set(first) & set(add):
            raise ParamError(f"param '{key}': modalities {sorted(set(first) & set(add))} are in "
                             f"both first and add")
        lr = float(P.number(self.prm, f"{key}.finetune_lr", self.hp.lr / 3, lo=1e-8, hi=10))
        return {"first": first, "add": add, "finetune_lr": lr}

    def inputs_left_out(self, modalities: list[str]) -> None:
        """Members and phases lose the modalities the corpus lacks (KEMDy: video, landmarks);
        the phase schedule is switched off when it has nothing left to add."""
        self.members = {n: (list(self.inputs) if n == EARLY else mods)
                        for n, mods in self.members.items() if n == EARLY or mods[0] in self.inputs}
        if self.decision and len(self.members) < 2:
            print(f"{self.name}: decision fusion off (fewer than two members left)")
            self.decision = []
        if self.phases:
            first = [m for m in self.phases["first"] if m in self.inputs]
            add = [m for m in self.phases["add"] if m in self.inputs]
            self.phases = {**self.phases, "first": first, "add": add} if first and add else None
            if self.phases is None:
                print(f"{self.name}: two-phase schedule off (no modality left to add)")

    # -- data ----------------------------------------------------------------------------------
    def assemble(self, tables: Tables, bank: FeatureBank) -> Rows:
        utts = tables.utterances
        y, left_out = self.labels.encode(utts["emotion"])
        X, names, checks = utterance_inputs(utts, bank, self.inputs)
        labelled = y != lbl.EXCLUDED
        # modality failures are counted among the labelled rows only
        keep, missing = keep_ok([(r, ok | ~labelled) for r, ok in checks], len(utts))
        keep &= labelled
        dropped = {**{f"label {c} not in classes": n for c, n in left_out.items()}, **missing}
        impro = improvised_mask(utts)
        extra = {} if impro is None else {"impro": impro}
        rows = Rows(utts["utt_id"].astype(str).to_numpy(), utts["session"].astype(str).to_numpy(),
                    X, {TARGET: y}, names, {TARGET: self.classes}, extra, dropped, len(utts))
        return keep_improvised_flag(rows.take(keep))

    def scaled_targets(self, rows: Rows) -> set[str]:
        return set()

    def head_dims(self, rows: Rows) -> dict[str, int]:
        return {TARGET: len(self.classes)}

    # -- objective -----------------------------------------------------------------------------
    def criterion_for(self, train: Rows) -> None:
        """Set the loss weights from the training rows' class counts."""
        counts = np.bincount(train.Y[TARGET], minlength=len(self.classes))
        self._criterion = make_loss(self.loss_kind, counts, self.beta)

    def loss(self, out: dict[str, torch.Tensor], y: dict[str, torch.Tensor]) -> torch.Tensor:
        if self._criterion is None:
            raise EmpathicError(f"{self.name}: no class weights set; this task trains through "
                                f"its own run_train (the runner must call it)")
        crit = self._criterion.to(out[TARGET].device)
        return crit(out[TARGET], y[TARGET])

    # -- evaluation ----------------------------------------------------------------------------
    def score(self, truth: Rows, pred: dict[str, np.ndarray], model=None) -> dict[str, float]:
        """Test-row metrics of predicted class scores (probabilities or logits)."""
        y, p = truth.Y[TARGET], np.asarray(pred[TARGET]).argmax(axis=1)
        s = cls.score(y, p, self.classes)
        if "impro" in truth.extra and truth.extra["impro"].any():
            m = truth.extra["impro"]
            s.update({f"impro_{k}": v for k, v in cls.score(y[m], p[m], self.classes).items()
                      if k in cls.SCALAR_METRICS})
        return s

    def baselines(self, train: Rows, test: Rows, model=None) -> dict[str, dict[str, np.ndarray]]:
        """majority: the most frequent training class; prior: classes drawn (seeded) from the
        training class frequencies."""
        k = len(self.classes)
        counts = np.bincount(train.Y[TARGET], minlength=k)
        rng = np.random.default_rng(self.hp.seed)
        drawn = rng.choice(k, size=len(test), p=counts / counts.sum())
        return {"majority": {TARGET: _one_hot(np.full(len(test), counts.argmax()), k)},
                "prior": {TARGET: _one_hot(drawn, k)}}

    # -- training of one fold --------------------------------------------------------------------
    def fit_model(self, trainer: Trainer, model: FusionNet, mods: list[str], train: Rows,
                  val: Rows, tag: str):
        """Fit `model` on `mods` of `train`, early-stopped on `val`; returns (scalers, FitResult)."""
        xs = fit_scalers({m: train.X[m] for m in mods})
        self.criterion_for(train)
        res = trainer.fit(model, self.loss, (apply_scalers({m: train.X[m] for m in mods}, xs), train.Y),
                    (apply_scalers({m: val.X[m] for m in mods}, xs), val.Y), tag=tag)
        return xs, res

    def new_net(self, rows: Rows, mods: list[str]) -> FusionNet:
        """A fresh network on `mods`, initialised from the task's seed (torch's default seed
        differs between processes, so an unseeded init would make every run differ)."""
        hp = self.hp
        torch.manual_seed(hp.seed)
        return FusionNet({m: rows.X[m].shape[1] for m in mods}, self.head_dims(rows),
                         hidden=hp.hidden, dropout=hp.dropout, fusion=hp.fusion, layers=hp.layers)

    def save(self, path: Path, fold: dict, net: FusionNet, mods: list[str], rows: Rows, xs,
             info: dict) -> None:
        checkpoint.save(path, task=self.name, fold=fold, model=net,
                        input_names={m: rows.x_names[m] for m in mods},
                        target_names={TARGET: self.classes}, input_scalers=xs, target_scalers={},
                        params=self.cfg, hparams=self.hp.as_dict(), info=info)

    def train_fold(self, trainer: Trainer, rows: Rows, fold: dict, out: Path) -> dict:
        """Every model of one fold into `out/` (members, phases) and `out/fusion.json`."""
        tr, va, te = fold_masks(rows.groups, fold)
        train, val = rows.take(tr), rows.take(va)
        out.mkdir()
        summary, best_epochs, val_probs = {}, {}, []
        for name, mods in self.members.items():
            net = self.new_net(rows, mods)
            xs, res = self.fit_model(trainer, net, mods, train, val, f"{fold['name']}/{name}")
            info = _fit_info(res, tr, va)
            self.save(out / f"{name}.pt", fold, net, mods, rows, xs, info)
            summary[name], best_epochs[name] = info, res.best_epoch
            val_probs.append(_probs(_predictor(net, mods, rows, xs, self), val))
        fusion: dict = {"members": list(self.members)}
        if "weighted" in self.decision:
            w = fit_vote_weights(np.stack(val_probs), val.Y[TARGET])
            fusion["weights"] = [round(float(x), 6) for x in w]
        if "stacking" in self.decision:
            fusion["stacking"] = self.fit_stacking(trainer, rows, fold, ~te, best_epochs)
        if self.phases:
            summary.update(self.train_phases(trainer, rows, fold, train, val, tr, va, out))
        (out / "fusion.json").write_text(json.dumps(fusion, indent=2) + "\n")
        return summary

    def fit_stacking(self, trainer: Trainer, rows: Rows, fold: dict, non_test: np.ndarray,
                     best_epochs: dict[str, int]) -> dict:
        """Meta-learner on out-of-fold member predictions of the non-test sessions.

        Each held-out session is predicted by members retrained on the other non-test sessions
        for the epoch count the member selected on validation (no early stopping: the held-out
        session must not steer its own predictions).
        """
        pool = rows.take(non_test)

        def fit_predict(train_idx, pred_idx):
            a, b = pool.take(train_idx), pool.take(pred_idx)
            out = []
            for name, mods in self.members.items():
                hp = dataclasses.replace(self.hp, epochs=best_epochs[name],
                                         patience=best_epochs[name] + 1)
                fixed = Trainer(hp, trainer.device, live=None, progress=False)
                net = self.new_net(rows, mods)
                xs, _ = self.fit_model(fixed, net, mods, a, a, f"{fold['name']}/oof/{name}")
                out.append(_probs(_predictor(net, mods, rows, xs, self), b))
            return np.stack(out)

        oof, order = out_of_fold(list(self.members), pool.groups, fit_predict)
        st = Stacking(seed=self.hp.seed).fit(oof, pool.Y[TARGET][order], fold["test"])
        return st.state()

    def train_phases(self, trainer, rows, fold, train, val, tr, va, out: Path) -> dict:
        first, add = self.phases["first"], self.phases["add"]
        net = self.new_net(rows, first)
        xs, res = self.fit_model(trainer, net, first, train, val, f"{fold['name']}/phase1")
        info1 = _fit_info(res, tr, va)
        self.save(out / "phase1.pt", fold, net, first, rows, xs, info1)
        grown = grow(net, {m: rows.X[m].shape[1] for m in add}, self.hp.seed)
        finetune = Trainer(dataclasses.replace(self.hp, lr=self.phases["finetune_lr"]),
                           trainer.device, trainer.live, trainer.progress)
        xs2, res2 = self.fit_model(finetune, grown, first + add, train, val,
                                   f"{fold['name']}/phase2")
        info2 = _fit_info(res2, tr, va)
        self.save(out / "phase2.pt", fold, grown, first + add, rows, xs2, info2)
        return {"phase1": info1, "phase2": info2}

    def run_train(self, tables: Tables, bank: FeatureBank, models_dir: Path,
                  live_dir: Path | None, progress: bool = True) -> list[dict]:
        """train@emotion: every fold's models into models_dir/<fold>/."""
        from dvclive import Live

        rows, folds = prepare(self, tables, bank)
        small_cpu_threads(self.hp.device)
        live = (Live(str(live_dir), dvcyaml=None, save_dvc_exp=False, report=None)
                if live_dir is not None else None)
        trainer = Trainer(self.hp, pick_device(self.hp.device), live=live, progress=progress)
        summaries = []
        with atomic_path(models_dir) as tmp:
            tmp.mkdir()
            for fold in folds:
                s = self.train_fold(trainer, rows, fold, tmp / fold["name"])
                print(f"{self.name} fold {fold['name']}: " + ", ".join(
                    f"{k} epoch {v['best_epoch']}" for k, v in s.items()))
                summaries.append({"fold": fold["name"], "models": s})
            (tmp / "summary.json").write_text(json.dumps(
                {"task": self.name, "rows": rows_info(rows), "folds": summaries}, indent=2) + "\n")
        if live is not None:
            live.end()
        return summaries

    # -- evaluation of every fold ------------------------------------------------------------------
    def fold_outputs(self, rows: Rows, fold: dict, fold_dir: Path) -> dict[str, dict]:
        """Model name -> {"val": (Nv, K), "test": (Nt, K)} probabilities of one fold."""
        _, va, te = fold_masks(rows.groups, fold)
        val, test = rows.take(va), rows.take(te)
        members = {}
        for name in self.members:
            model = _load(fold_dir / f"{name}.pt", fold, self.hp.device)
            members[name] = {"val": _probs(model, val), "test": _probs(model, test)}
        outs = {entry_name(n): o for n, o in members.items()}
        fusion = json.loads((fold_dir / "fusion.json").read_text())
        needed = {"weighted": "weights", "stacking": "stacking"}
        if fusion["members"] != list(self.members) or any(
                needed[d] not in fusion for d in self.decision if d in needed):
            raise EmpathicError(f"{fold_dir} was trained with other members or decision fusion; "
                                f"run `dvc repro train@{self.name}`")
        table = {part: np.stack([members[n][part] for n in self.members]) for part in ("val", "test")}
        if "soft" in self.decision:
            outs["soft_vote"] = {p: soft_vote(t) for p, t in table.items()}
        if "weighted" in self.decision:
            outs["weighted_vote"] = {p: weighted_soft_vote(t, fusion["weights"])
                                     for p, t in table.items()}
        if "hard" in self.decision:
            k = len(self.classes)
            outs["hard_vote"] = {p: _one_hot(hard_vote(t), k) for p, t in table.items()}
        if "stacking" in self.decision:
            st = Stacking.from_state(fusion["stacking"])
            seen = set(fold["train"]) | set(fold["val"])
            test_pred = Predictions.from_models(list(self.members), table["test"], test.groups, seen)
            outs["stacking"] = {"val": None, "test": st.predict_proba(test_pred)}
        if self.phases:
            for ph in ("phase1", "phase2"):
                model = _load(fold_dir / f"{ph}.pt", fold, self.hp.device)
                outs[ph] = {"val": _probs(model, val), "test": _probs(model, test)}
        return outs

    def scored(self, rows: Rows) -> Rows:
        """The rows a fold is scored on (the context task keeps unlabelled nodes as context)."""
        return rows

    def report_extra(self, rows: Rows) -> dict:
        """Task-specific entries of the metrics JSON."""
        return {"rows": rows_info(rows), "phases": self.phases}

    def run_evaluate(self, tables: Tables, bank: FeatureBank, models_dir: Path,
                     metrics_path: Path, figures_dir: Path | None) -> dict:
        """evaluate@<task>: metrics/<task>.json and the confusion matrices. `fold_outputs` gives
        each model's class probabilities on the fold's scored validation and test rows."""
        rows, folds = prepare(self, tables, bank)
        scores: dict[str, list] = {}
        val_ua: dict[str, list] = {}
        base: dict[str, list] = {}
        test_pred: dict[str, list] = {}
        tests = []
        for fold in folds:
            tr, va, te = fold_masks(rows.groups, fold)
            test, val = self.scored(rows.take(te)), self.scored(rows.take(va))
            tests.append(test)
            for name, o in self.fold_outputs(rows, fold, models_dir / fold["name"]).items():
                scores.setdefault(name, []).append(self.score(test, {TARGET: o["test"]}))
                test_pred.setdefault(name, []).append(o["test"].argmax(axis=1))
                if name not in FITTED_ON_VAL:
                    v = cls.score(val.Y[TARGET], o["val"].argmax(axis=1), self.classes)["ua"]
                    val_ua.setdefault(name, []).append(v)
            for bname, bpred in self.baselines(self.scored(rows.take(tr)), test).items():
                base.setdefault(bname, []).append(self.score(test, bpred))
        best = max(val_ua, key=lambda n: (np.mean(val_ua[n]), n))
        doc = report.build(
            tables.folds.get("protocol", "unknown"), [f["name"] for f in folds],
            sum(len(t) for t in tests), scores, base, best=best,
            classes=self.classes, loss=self.loss_kind, **self.report_extra(rows),
            selection="best mean validation UA among " + ", ".join(sorted(val_ua)),
            validation_ua={n: round(float(np.mean(v)), 6) for n, v in sorted(val_ua.items())},
            improvised=("impro_* metrics: test rows of improvised dialogues only"
                        if "impro" in rows.extra else "the corpus does not mark improvised dialogues"))
        write_json(metrics_path, doc)
        if figures_dir is not None:
            self.confusion_figures(figures_dir, tests, np.concatenate(test_pred[best]), best)
        return doc

    def confusion_figures(self, out_dir: Path, tests: list[Rows], pred: np.ndarray,
                          model: str) -> None:
        """confusion.png over every fold's test rows; confusion_improvised.png where marked."""
        y = np.concatenate([t.Y[TARGET] for t in tests])
        k = len(self.classes)
        with atomic_path(out_dir) as tmp:
            tmp.mkdir()
            confusion_png(cls.confusion(y, pred, k), self.classes, tmp / "confusion.png",
                          f"{self.name}: {model}, test rows of all folds")
            if all("impro" in t.extra for t in tests):
                m = np.concatenate([t.extra["impro"] for t in tests])
                confusion_png(cls.confusion(y[m], pred[m], k), self.classes,
                              tmp / "confusion_improvised.png",
                              f"{self.name}: {model}, improvised test rows")


def _fit_info(res, tr: np.ndarray, va: np.ndarray) -> dict:
    return {"best_epoch": res.best_epoch, "best_val_loss": round(res.best_val_loss, 6),
            "epochs_run": res.epochs_run, "n_train": int(tr.sum()), "n_val": int(va.sum())}


def _predictor(net: FusionNet, mods: list[str], rows: Rows, xs, task: Task) -> Predictor:
    """An in-memory Predictor of a just-trained network (same path as a loaded checkpoint)."""
    state = {"format": checkpoint.FORMAT, "task": task.name, "fold": {}, "model": net.config,
             "state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()},
             "input_names": {m: rows.x_names[m] for m in mods}, "target_names": {},
             "input_scalers": {m: s.state() for m, s in xs.items()}, "target_scalers": {}}
    return Predictor(state, task.hp.device)


def _load(path: Path, fold: dict, device: str) -> Predictor:
    model = checkpoint.load_model(path, device)
    if model.fold != fold:
        raise EmpathicError(f"{path} was trained on another split; run `dvc repro train@emotion`")
    return model


def _probs(model: Predictor, rows: Rows) -> np.ndarray:
    logits = model.predict({m: rows.X[m] for m in model.inputs})[TARGET]
    return _softmax(logits.astype(np.float64))


TASK = EmotionTask
