"""Write an HTML template for `dvc plots show` that works offline.

    python -m stages.plots_template                  # .dvc/tmp/plots_offline.html
    dvc plots show --html-template .dvc/tmp/plots_offline.html     (or: make plots)

DVC's own page loads vega, vega-lite and vega-embed from a CDN, so without a network every
chart (the learning curves, the confusion matrices) is blank. This template carries the three
libraries inline, bundled by the PyPI package vl-convert-python (Vega-Lite 5, the version of
DVC's plot specs), and has no `{scripts}` slot, so DVC adds no CDN tags. The same vl-convert
version gives the same file.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from empathic import cli
from empathic.atomic import write_text
from empathic.errors import EmpathicError

DEFAULT = Path(".dvc/tmp/plots_offline.html")
VEGA_LITE = "v5.21"          # DVC writes vega-lite v5 specs

PAGE = """<!DOCTYPE html>
<html>
<head>
    {refresh_tag}
    <meta charset="utf-8">
    <title>DVC plots (offline)</title>
    <!-- vega {vega}, vega-lite {vega_lite}, vega-embed {embed}: bundled by vl-convert-python
         {vl_convert}, no network needed -->
    <script type="text/javascript">
__BUNDLE__
    </script>
    <style>
        table {{ border-spacing: 15px; }}
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>
"""


def template() -> str:
    """The template text (DVC fills {plot_divs} and {refresh_tag})."""
    try:
        import vl_convert as vlc
    except ImportError:
        raise EmpathicError("vl-convert-python is not installed (it is in requirements.txt: "
                            "make venv)") from None
    bundle = vlc.javascript_bundle(vl_version=VEGA_LITE)
    clash = [t for t in ("</script", "{plot_divs}", "{refresh_tag}", "{scripts}") if t in bundle]
    if clash:          # DVC fills the slots by plain text replacement, anywhere in the page
        raise EmpathicError(f"the vega bundle contains {clash}; cannot inline it")
    head = PAGE.replace("{{", "\0").replace("}}", "\1")
    head = (head.replace("{vega}", vlc.get_vega_version())
            .replace("{vega_lite}", VEGA_LITE.lstrip("v"))
            .replace("{embed}", vlc.get_vega_embed_version())
            .replace("{vl_convert}", getattr(vlc, "__version__", "?")))
    return head.replace("\0", "{").replace("\1", "}").replace("__BUNDLE__", bundle)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m stages.plots_template", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT, help=f"where to write (default {DEFAULT})")
    a = ap.parse_args(argv)
    text = template()
    if not a.out.is_file() or a.out.read_text(encoding="utf-8") != text:
        write_text(a.out, text)
    print(f"offline plots template -> {a.out} ({len(text) // 1024} KiB); "
          f"dvc plots show --html-template {a.out}")
    return 0


if __name__ == "__main__":
    cli.run(main)
