"""The index page's scripts: plotly.js's basic bundle, and no chunk no page starts with."""

from __future__ import annotations

import re
from pathlib import Path

from plotly.offline import get_plotlyjs_version

import finkportal_portal
from finkportal_portal.app import create_app
from finkportal_portal.scripts import (
    PLOTLY_BUNDLE,
    lean_scripts,
    plotly_bundle_present,
    skipped_script_pattern,
)
from finkportal_portal.settings import PortalSettings

ASSETS = Path(finkportal_portal.__file__).resolve().parent / "assets"
NPM_BUNDLE = (Path(__file__).resolve().parents[2] / "services/portal/node_modules"
              / "plotly.js-basic-dist-min/plotly-basic.min.js")
TAGS = [
    '<script src="/_dash-component-suites/dash/deps/react@18.v4m1.3.1.min.js"></script>',
    '<script src="/_dash-component-suites/dash/dcc/async-graph.v4m1.js"></script>',
    '<script src="/_dash-component-suites/dash/dcc/async-mathjax.v4m1.js"></script>',
    '<script src="/_dash-component-suites/dash/dcc/async-markdown.v4m1.js"></script>',
    '<script src="/_dash-component-suites/dash/dash_table/async-table.v7m1.js"></script>',
    '<script src="/_dash-component-suites/dash/dash_table/bundle.v7m1.js"></script>',
    '<script src="/_dash-component-suites/plotly/package_data/plotly.v7_1_0m1.min.js"></script>',
]


def script_sources(html: str) -> list[str]:
    return re.findall(r'<script src="([^"]+)"', html)


def test_lean_scripts_leave_out_the_lazy_chunks_and_the_full_plotly_when_bundled() -> None:
    kept = lean_scripts("\n".join(TAGS), skipped_script_pattern(plotly_bundled=True))
    assert kept.split("\n") == [TAGS[0], TAGS[1], TAGS[5]]


def test_without_the_basic_bundle_the_full_plotly_stays() -> None:
    kept = lean_scripts("\n".join(TAGS), skipped_script_pattern(plotly_bundled=False))
    assert kept.split("\n") == [TAGS[0], TAGS[1], TAGS[5], TAGS[6]]
    assert not plotly_bundle_present(Path("/nonexistent"))


def test_index_lists_the_basic_bundle_before_the_components_and_nothing_heavy() -> None:
    client = create_app(PortalSettings()).server.test_client()
    sources = script_sources(client.get("/some-object").get_data(as_text=True))
    bundle = next(n for n, src in enumerate(sources) if PLOTLY_BUNDLE in src)
    core = next(n for n, src in enumerate(sources) if "dash_core_components." in src)
    assert bundle < core  # window.Plotly exists before dcc.Graph looks for it
    assert not [src for src in sources if "package_data/plotly" in src or "mathjax" in src]
    assert [src for src in sources if "async-graph" in src]  # the first graph needs it
    served = client.get(sources[bundle])
    assert served.status_code == 200
    assert "javascript" in served.content_type


def test_basic_bundle_is_npms_and_plotly_pys_plotly_js_version() -> None:
    """The figures plotly.py writes are for its own plotly.js version: the same one draws."""
    bundle = (ASSETS / PLOTLY_BUNDLE).read_bytes()
    assert bundle == NPM_BUNDLE.read_bytes()
    header = re.search(rb"plotly\.js \(basic - minified\) v(\S+)", bundle[:300])
    assert header is not None
    assert header.group(1).decode() == get_plotlyjs_version()
