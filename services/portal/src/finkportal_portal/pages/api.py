"""``/api``: where the REST API is, its documentation, and calls to copy."""

from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from finkportal_portal.context import portal

dash.register_page(__name__, path="/api", title="finkportal: API", order=2)

EXAMPLES = [
    ("An object's alerts (JSON)", "objects?objectId=ZTF21abfmbix&output-format=json"),
    ("With upper limits, as CSV", "objects?objectId=ZTF21abfmbix&withupperlim=true"
     "&output-format=csv"),
    ("A cone search (10 arcsec)", "conesearch?ra=271.3914&dec=45.2545&radius=10"),
    ("The latest SN candidates", "latests?class=SN%20candidate&n=10"),
    ("A Solar System object", "sso?n_or_d=8467"),
    ("The science cutout (PNG)", "cutouts?objectId=ZTF21abfmbix&kind=Science"),
    ("Alerts per night", "statistics?date="),
]


def layout(**_ignored: Any) -> html.Div:
    api = portal().settings.api_url_for_users
    return html.Div([
        html.H1("REST API", className="page-title"),
        html.P(["Everything this portal shows comes from the public REST API at ",
                html.Code(f"{api}/api/v1"), ". It takes Fink's parameters (GET query strings "
                "or POST JSON bodies) and answers JSON, CSV, Parquet or VOTable."]),
        html.P(html.A("Interactive documentation (OpenAPI)", href=f"{api}/docs",
                      id="api-docs-link", target="_blank", rel="noopener")),
        html.H3("Examples"),
        html.Ul([html.Li([html.Div(label), html.Code(f"curl '{api}/api/v1/{call}'",
                                                     id=f"api-example-{i}"),
                          dcc.Clipboard(target_id=f"api-example-{i}", className="copy")])
                 for i, (label, call) in enumerate(EXAMPLES)], className="api-examples"),
        html.P(["In Python: ", html.Code(
            f"requests.post('{api}/api/v1/objects', json={{'objectId': 'ZTF21abfmbix'}})")]),
    ])
