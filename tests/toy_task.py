"""A toy regression task (an utterance's valence from its text, one fusion network), written as
a task module: tests use it in place, and test_new_task copies it into a project's
empathic/training/tasks/ to add a task by its module alone."""
import numpy as np
import torch

from empathic.training.data import Rows, keep_ok
from empathic.training.task import ModelSpec, Task


class ToyTask(Task):
    name, selection, comparisons = "toy", ("mse", False), {"mse": False}

    def assemble(self, tables, bank):
        u = tables.utterances
        x, present, ok = bank.lookup("text", u["utt_id"].astype(str).to_numpy())
        keep, dropped = keep_ok([("text", present & ok)], len(u))
        return Rows(u["utt_id"].astype(str).to_numpy(), u["session"].astype(str).to_numpy(),
                    {"text": x}, {"v": u[["valence"]].to_numpy(np.float32)},
                    {"text": bank.names("text")}, {"v": ["valence"]}, {}, dropped,
                    len(u)).take(keep)

    def models(self, rows):
        return [ModelSpec("text_only", ("text",), single=True)]

    def objective(self, train):
        return lambda out, y: torch.nn.functional.mse_loss(out["v"], y["v"])

    def score(self, truth, pred, ref):
        return {"mse": float(np.mean((pred["v"] - truth.Y["v"]) ** 2))}

    def row_stat(self, metric, truth, pred):
        return (np.mean((pred["v"] - truth.Y["v"]) ** 2, axis=1),), np.mean

    def baselines(self, train, test, ref, seed=0):
        return {"train_mean": {"v": np.repeat(train.Y["v"].mean(0, keepdims=True), len(test), 0)}}


TASK = ToyTask
