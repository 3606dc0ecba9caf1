"""Learning curves as one PNG: a panel per model, a line pair (train, validation) per fold."""
from __future__ import annotations

from pathlib import Path


def curves_png(path: Path, curves: dict[str, list], title: str) -> None:
    """`curves`: "<fold>/<model>" -> [(epoch, train loss, validation loss)]."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models: dict[str, dict[str, list]] = {}
    for tag, curve in curves.items():
        fold, _, model = tag.partition("/")
        models.setdefault(model or fold, {})[fold] = curve
    cols = min(4, len(models))
    rows = -(-len(models) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    cmap = plt.get_cmap("tab10")
    for ax, (model, folds) in zip(axes.ravel(), models.items()):
        ax.set_axis_on()
        for i, (fold, curve) in enumerate(sorted(folds.items())):
            ep = [c[0] for c in curve]
            ax.plot(ep, [c[1] for c in curve], color=cmap(i % 10), lw=0.8, ls="--")
            ax.plot(ep, [c[2] for c in curve], color=cmap(i % 10), lw=1.0, label=fold)
        ax.set_title(model, fontsize=8)
        ax.set_xlabel("epoch", fontsize=7)
        ax.tick_params(labelsize=6)
    axes.ravel()[0].legend(fontsize=6, title="validation (solid), train (dashed)",
                           title_fontsize=6)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80, metadata={"Software": None})
    plt.close(fig)
