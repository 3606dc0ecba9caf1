"""Module-level functions the executor tests map on Dask workers (picklable by reference)."""
from __future__ import annotations

import os

_STATE: dict = {}


def init(label: str) -> None:
    """Count how often this process ran the initializer (a model load in real extractors)."""
    _STATE["label"] = label
    _STATE["inits"] = _STATE.get("inits", 0) + 1


def square(x: int) -> tuple[int, int, str, int]:
    """(x squared, this process's id, the initializer's label, how often it ran here)."""
    return x * x, os.getpid(), _STATE.get("label", ""), _STATE.get("inits", 0)


def call_tuple(x):
    """Returns its item untouched: items that look like task tuples must stay data."""
    return x


def pick_row(item) -> tuple[float, int, int]:
    """(sum of row i of the table, this process's id, the table object's id)."""
    table, i = item
    _STATE.setdefault("tables", []).append(table)     # alive: a copy per task would get its own id
    return float(table[i].sum()), os.getpid(), id(table)


def die_once(item: tuple[str, int]) -> int:
    """Kill this worker process the first time any task runs (a marker file remembers)."""
    marker, x = item
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL))   # one process only, even if racing
    except FileExistsError:
        return x + 1
    os._exit(1)


def slow_first(item: tuple[int, str]) -> int:
    """Mark the start of item x in folder `marks`, then take longer the earlier the item: later
    items complete first (out-of-order completion)."""
    import time
    x, marks = item
    open(os.path.join(marks, f"started-{x:04d}"), "w").close()
    time.sleep(0.02 * max(0, 6 - x))
    return x * 10


def boom_at_5(x: int) -> int:
    if x == 5:
        raise RuntimeError("unit 5 failed")
    return x
