"""The portal's part of ``finkportal demo``: where to open it, and pages worth a look.

The portal reads everything through the demo's query API and asks the demo's fitter for
fits; the demo points it at both (``FINK_PORTAL_QUERY_URL``, ``FINK_PORTAL_FITTER_URL``).
"""

from __future__ import annotations

import urllib.parse

from finkportal_tools.demo_api import CONE_RADIUS_ARCSEC, ExampleObject, api_base_url

# Importing Dash, plotly and astropy, then the query API answering its /health.
PORTAL_START_TIMEOUT_S = 90.0


def portal_env(portal_port: int, query_port: int, fitter_port: int) -> dict[str, str]:
    """The portal's settings in the demo: its port and the two services it calls."""
    return {"FINK_PORTAL_PORT": str(portal_port),
            "FINK_PORTAL_QUERY_URL": api_base_url(query_port),
            "FINK_PORTAL_FITTER_URL": api_base_url(fitter_port)}


def search_url(base_url: str, text: str) -> str:
    """The search page with ``text`` in the search bar (``/?q=...``)."""
    return f"{base_url}/?{urllib.parse.urlencode({'q': text})}"


def portal_lines(base_url: str, example: ExampleObject | None) -> str:
    """The portal's part of "where to look": its address and two pages on the night."""
    lines = [f"  portal:                  {base_url}/   (docs/portal.md)",
             f"    health, metrics:       {base_url}/health   {base_url}/metrics"]
    if example is None:
        return "\n".join([*lines, "    (no alert stored: no example page)"])
    cone = f"{example.ra:.6f} {example.dec:.6f} {CONE_RADIUS_ARCSEC:g}s"
    lines += [f"    example object page:   {base_url}/{example.object_id}   "
              f"({example.alerts} alerts)",
              f"    a search around it:    {search_url(base_url, cone)}"]
    return "\n".join(lines)
