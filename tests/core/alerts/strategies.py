"""Hypothesis strategies for alerts with arbitrary added values and history."""

from __future__ import annotations

from hypothesis import strategies as st

from finkportal_core.alerts import ZTF_ROOT_FIELDS, Alert

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
SCALARS = st.none() | st.booleans() | INT64 | st.floats() | st.text() | st.binary()
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
AVRO_NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)
ADDED_NAMES = AVRO_NAMES.filter(lambda name: name not in ZTF_ROOT_FIELDS)


@st.composite
def synthetic_alerts(draw: st.DrawFn) -> Alert:
    """Alerts with the ZTF identity fields and arbitrary added values and history."""
    jd = draw(st.floats(min_value=2458000, max_value=2462000))
    prv = st.fixed_dictionaries({
        "jd": st.floats(min_value=2458000, max_value=2462000),
        "candid": st.none() | INT64,
        "pid": st.none() | st.integers(0, 10**13),
        "magpsf": st.none() | st.floats(width=32),
        "extra": VALUES,
    })
    alert: Alert = {
        "schemavsn": draw(st.sampled_from(["3.3", "4.02", "5.0"])),
        "objectId": draw(st.from_regex(r"ZTF\d\d[a-z]{7}", fullmatch=True)),
        "candid": draw(INT64),
        "candidate": {
            "jd": jd,
            "magpsf": draw(st.floats()),
            "ssnamenr": draw(st.none() | st.text()),
        },
        "prv_candidates": draw(st.none() | st.lists(prv, max_size=4)),
        "cutoutScience": draw(st.none() | st.fixed_dictionaries(
            {"fileName": st.text(), "stampData": st.binary()})),
    }
    alert.update(draw(st.dictionaries(ADDED_NAMES, VALUES, max_size=6)))
    return alert
