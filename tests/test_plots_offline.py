"""`dvc plots show` with the offline template draws charts with the network off: the page is
opened in headless chromium (every host unresolvable, proxy to a closed port) and its
screenshot must hold a drawn chart. The default DVC page, from a CDN, stays blank there."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, run_stage, stage_env

BIN = Path(sys.executable).parent
BROWSER = next((shutil.which(b) for b in ("chromium-headless-shell", "chromium", "chromium-browser",
                                          "google-chrome") if shutil.which(b)), None)
OFFLINE = ["--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
           "--no-proxy-server-for-local", "--disable-background-networking"]


def sh(args, cwd, env=None) -> str:
    p = subprocess.run(args, cwd=cwd, env=env or stage_env(), capture_output=True, text=True)
    assert p.returncode == 0, f"{' '.join(map(str, args))}:\n{p.stdout}\n{p.stderr}"
    return p.stdout


def screenshot(html: Path, png: Path) -> np.ndarray:
    args = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", *OFFLINE,
            "--window-size=900,700", "--virtual-time-budget=15000", f"--screenshot={png}",
            html.as_uri()]
    subprocess.run(args, capture_output=True, timeout=120, check=True)
    import matplotlib.image as mpimg
    return mpimg.imread(png)[..., :3]


def coloured_pixels(img: np.ndarray) -> int:
    """Pixels of a drawn mark: clearly coloured (not white, grey or black text)."""
    spread = img.max(axis=2) - img.min(axis=2)
    return int((spread > 0.25).sum())


@pytest.fixture(scope="module")
def plots(tmp_path_factory):
    d = tmp_path_factory.mktemp("plots")
    env = dict(stage_env(), PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    sh(["git", "init", "-q"], d, env)
    sh([str(BIN / "dvc"), "init", "-q"], d, env)
    curve = d / "live" / "loss.tsv"
    curve.parent.mkdir()
    steps = np.arange(40)
    curve.write_text("step\tloss\n" + "".join(f"{s}\t{2 * np.exp(-s / 10) + 0.1:.4f}\n"
                                              for s in steps))
    (d / "dvc.yaml").write_text("plots:\n  - live/loss.tsv:\n      x: step\n      y: loss\n")
    run_stage(["stages.plots_template", "--out", "tpl.html"], d)
    sh([str(BIN / "dvc"), "plots", "show", "--html-template", "tpl.html", "-o", "offline"], d, env)
    sh([str(BIN / "dvc"), "plots", "show", "-o", "cdn"], d, env)
    return d


def test_template_is_self_contained_and_deterministic(plots, tmp_path):
    page = (plots / "offline" / "index.html").read_text()
    assert "cdn.jsdelivr" not in page and "<script src=" not in page
    assert "vegaEmbed(" in page and "window.vegaEmbed=" in page
    run_stage(["stages.plots_template", "--out", str(tmp_path / "again.html")], plots)
    assert (tmp_path / "again.html").read_bytes() == (plots / "tpl.html").read_bytes()


@pytest.mark.skipif(BROWSER is None, reason="no headless chromium (apt-get install "
                                            "chromium-headless-shell)")
def test_offline_page_draws_the_chart_and_the_cdn_page_does_not(plots):
    drawn = coloured_pixels(screenshot(plots / "offline" / "index.html", plots / "offline.png"))
    blank = coloured_pixels(screenshot(plots / "cdn" / "index.html", plots / "cdn.png"))
    assert blank < 50, blank                 # the CDN page offline: nothing drawn
    assert drawn > 500, drawn                # the line of the learning curve, in colour
