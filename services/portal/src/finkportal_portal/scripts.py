"""What a first visit downloads: plotly.js's basic bundle, and no chunk no page starts with.

With ``eager_loading`` Dash lists every script of its component libraries in the page:
the full plotly.js (4.8 MB, with maps, 3-D and WebGL traces the portal never draws),
MathJax (2 MB), Markdown, syntax highlighting, date pickers, sliders, uploads and the
table's export. Parsing them was most of a cold object page's time. The portal draws
scatter and bar traces only, so it ships plotly.js's basic bundle (scatter, bar, pie;
1.2 MB, the same plotly.js version as plotly.py's, from npm: ``assets/vendor``) as
``window.Plotly``, which ``dcc.Graph`` takes instead of fetching its own. The other
chunks are webpack chunks: left out of the page, each is fetched the first time a
component needs it, so nothing stops working (a DataTable waits one request more).
"""

from __future__ import annotations

import re
from pathlib import Path

PLOTLY_BUNDLE = "vendor/plotly-basic.min.js"  # under the assets folder
# Chunks nothing needs before the first page is drawn (Dash 4's file names).
_LAZY_CHUNKS = (r"dcc/async-(?:mathjax|markdown|highlight|datepicker|slider|upload)\.",
                r"dash_table/async-(?:export|highlight|table)\.")
_FULL_PLOTLY = r"plotly/package_data/plotly\.[^\"]*js"
_TAG = r'<script src="[^"]*/(?:{})[^"]*"></script>'


def plotly_bundle_present(assets_folder: Path) -> bool:
    return (assets_folder / PLOTLY_BUNDLE).is_file()


def skipped_script_pattern(plotly_bundled: bool) -> re.Pattern[str]:
    """Script tags to leave out; the full plotly.js too when the basic bundle is served
    (without it, e.g. assets not installed, the full one stays: graphs still draw)."""
    names = _LAZY_CHUNKS + ((_FULL_PLOTLY,) if plotly_bundled else ())
    return re.compile(_TAG.format("|".join(names)))


def lean_scripts(scripts: str, skipped: re.Pattern[str]) -> str:
    """Dash's script tags (one per line) without the skipped ones."""
    return "\n".join(line for line in scripts.split("\n") if not skipped.fullmatch(line.strip()))
