"""One module per task; each exposes `TASK`, a subclass of empathic.training.task.Task."""
