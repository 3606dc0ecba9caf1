"""Training and evaluation shared by every task (docs/architecture.md draws the flow).

- data.py: tables + feature bank -> `Rows` (ok-filtered, drops counted), fold masks, scalers
- task.py: `Task` (what a task declares) and `ModelSpec` (one network it trains per fold and seed)
- classify.py / utterances.py: the parts the classification and utterance tasks share
- trainer.py: hyper-params, device choice, seeding, the one training loop with early stopping
- batching.py: how a split reaches the network (row slices or whole dialogues)
- checkpoint.py: a model's bytes on disk; the one `Predictor` that loads any of them
- runner.py: folds x seeds units through the executor seam, checkpoints and curves
- evaluate.py: test scores, selection on validation, paired comparisons, the metrics JSON
- tasks/<name>.py: one module per task, exposing `TASK` (a Task subclass)
"""
