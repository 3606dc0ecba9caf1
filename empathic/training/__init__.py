"""Training and evaluation machinery shared by every task (see .coord/training_api.md).

- data.py: tables + feature bank -> `Rows` (ok-filtered, drops counted), fold masks, scalers
- task.py: the `Task` base class (a subclass overrides assembly, heads, objective, scoring)
- trainer.py: hyper-params, device choice, the training loop with early stopping and dvclive
- checkpoint.py: save one fold's model; `load_model(path).predict(features)`
- runner.py: the fold loops behind `stages.train` and `stages.evaluate`
- tasks/<name>.py: one module per task, exposing `TASK` (a Task subclass)
"""
