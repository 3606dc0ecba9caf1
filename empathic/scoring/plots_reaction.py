"""Figure of the reaction task: per-measure time series, real vs the K predicted reactions."""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np


def reaction_series(path: Path, real: np.ndarray, pred: np.ndarray, titles: list[str],
                    measures: list[str], fps: float, t_listen: int) -> None:
    """PNG grid, one row per test pair and one column per measure: the real reaction (black),
    the first predicted reaction (red) and the other K - 1 (faint); a dotted line where the
    listening window ends and the reply begins. real (n, T, M), pred (n, K, T, M)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n, m = len(real), len(measures)
    t = np.arange(real.shape[1]) / fps
    fig, axes = plt.subplots(n, m, figsize=(2.3 * m, 1.5 * n + 0.6), squeeze=False, sharex=True)
    for i in range(n):
        for j in range(m):
            ax = axes[i, j]
            for k in range(1, pred.shape[1]):
                ax.plot(t, pred[i, k, :, j], color="tab:red", lw=0.6, alpha=0.25)
            ax.plot(t, pred[i, 0, :, j], color="tab:red", lw=1.1, label="predicted")
            ax.plot(t, real[i, :, j], color="black", lw=1.1, label="real")
            if 0 < t_listen < real.shape[1]:
                ax.axvline(t_listen / fps, color="grey", ls=":", lw=0.8)
            ax.tick_params(labelsize=6)
            if i == 0:
                ax.set_title(measures[j], fontsize=7)
            if j == 0:
                ax.set_ylabel("\n".join(textwrap.wrap(titles[i], 18)), fontsize=6)
    for ax in axes[-1]:
        ax.set_xlabel("s", fontsize=6)
    axes[0, 0].legend(fontsize=5, loc="upper left")
    fig.suptitle("listener reaction: change from the reference face (real vs K predicted)",
                 fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90, metadata={"Software": None})
    plt.close(fig)
