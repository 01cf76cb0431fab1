"""Fink classification: every rule and tie, and agreement with a pandas evaluation.

fink-filters itself cannot be a test dependency (its classification module imports
pyspark at import time), so real alerts are checked against a second, independent,
vectorised pandas evaluation written here from fink-filters' rules.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from finkportal_core.alerts import Alert, alert_files, iter_alert_files
from finkportal_core.classification import (
    FINK_CLASSES,
    KEEP_CDS,
    ClassificationInputError,
    alert_class,
    fink_class,
    rule_flags,
)

# The extragalactic-host labels as the issue (and fink_utils' return_list_of_eg_host) list them.
ISSUE_KEEP_CDS = [
    *["Unknown", "Candidate_SN*", "SN", "Transient", "Fail", "Fail 504", "galaxy", "Galaxy"],
    *["EmG", "Seyfert", "Seyfert_1", "Seyfert_2", "BlueCompG", "StarburstG", "LSB_G", "HII_G"],
    *["High_z_G", "GinPair", "GinGroup", "BClG", "GinCl", "PartofG", "Compact_Gr_G", "IG"],
    *["PairG", "GroupG", "ClG", "SuperClG", "Void", "LINER", "Possible_ClG", "Possible_SClG"],
    *["GravLens_Candidate", "SN*_Candidate"],
]
CANDIDATE_FIELDS = ["ndethist", "drb", "classtar", "jd", "jdstarthist"]
ADDED_FIELDS = ["cdsxmatch", "roid", "mulens", "snn_snia_vs_nonia", "snn_sn_vs_all"]
ADDED_FIELDS += ["rf_snia_vs_nonia", "rf_kn_vs_nonkn", "tracklet"]

JD = 2460000.5
# An alert that passes no filter: a real, extended, 10-day-old transient with low scores.
QUIET: dict[str, Any] = {
    "cdsxmatch": "Unknown",
    "roid": 0,
    "mulens": 0.0,
    "snn_snia_vs_nonia": 0.1,
    "snn_sn_vs_all": 0.1,
    "rf_snia_vs_nonia": 0.1,
    "rf_kn_vs_nonkn": 0.1,
    "ndethist": 5,
    "drb": 0.9,
    "classtar": 0.9,
    "jd": JD,
    "jdstarthist": JD - 10,
    "tracklet": None,
}
SN = {"snn_snia_vs_nonia": 0.9}
EARLY = {**SN, "rf_snia_vs_nonia": 0.9}  # passes both the SN and the early SN Ia filters
EARLY_ONLY = {**EARLY, "ndethist": 1}  # a first detection: early SN Ia but not SN
KN = {"rf_kn_vs_nonkn": 0.9, "jdstarthist": JD - 2}
MULENS = {"mulens": 0.3}
SSO = {"roid": 2}
MPC = {"roid": 3}
TRACKLET = {"tracklet": "TRCK_20231012_081523_00"}
ML_STRUCT = {"class_1": "ML", "ml_score_1": 0.8, "class_2": "ML", "ml_score_2": 0.7}

CASES: list[tuple[str, dict[str, Any], str]] = [
    # each rule alone
    ("nothing", {}, "Unknown"),
    ("microlensing", MULENS, "Microlensing candidate"),
    ("sn from snn_snia_vs_nonia", SN, "SN candidate"),
    ("sn from snn_sn_vs_all", {"snn_sn_vs_all": 0.51}, "SN candidate"),
    ("early sn ia (also sn)", EARLY, "Early SN Ia candidate"),
    ("early sn ia only", EARLY_ONLY, "Early SN Ia candidate"),
    ("kilonova", KN, "Kilonova candidate"),
    ("sso candidate", SSO, "Solar System candidate"),
    ("tracklet", TRACKLET, "Tracklet"),
    ("sso mpc", MPC, "Solar System MPC"),
    # thresholds (strict or not, as in Fink)
    ("sn drb not above 0.5", {**SN, "drb": 0.5}, "Unknown"),
    ("sn classtar not above 0.4", {**SN, "classtar": 0.4}, "Unknown"),
    ("sn snn not above 0.5", {"snn_snia_vs_nonia": 0.5}, "Unknown"),
    ("sn exactly 90 days old", {**SN, "jdstarthist": JD - 90}, "SN candidate"),
    ("sn older than 90 days", {**SN, "jdstarthist": JD - 90.01}, "Unknown"),
    ("sn single detection", {**SN, "ndethist": 1}, "Unknown"),
    ("early sn ia with 20 detections", {**EARLY, "ndethist": 20}, "Early SN Ia candidate"),
    ("early sn ia with 21 detections is sn", {**EARLY, "ndethist": 21}, "SN candidate"),
    ("early sn ia ignores age", {**EARLY, "jdstarthist": JD - 400}, "Early SN Ia candidate"),
    ("kilonova 5 days old", {**KN, "jdstarthist": JD - 5}, "Unknown"),
    ("kilonova with 20 detections", {**KN, "ndethist": 20}, "Unknown"),
    ("kilonova with 19.5 detections (float test)", {**KN, "ndethist": 19.5}, "Kilonova candidate"),
    ("mulens zero", {"mulens": 0.0}, "Unknown"),
    ("roid truncated to 3", {"roid": 3.7}, "Solar System MPC"),
    ("roid truncated to 2", {"roid": 2.9}, "Solar System candidate"),
    ("tracklet needs the TRCK_ prefix", {"tracklet": "trck_1"}, "Unknown"),
    # ties: the later rule wins
    ("sn + mulens is ambiguous", {**SN, **MULENS}, "Ambiguous"),
    ("sn + sso candidate is ambiguous", {**SN, **SSO}, "Ambiguous"),
    ("sn + mpc: the sn filter rejects mpc", {**SN, **MPC}, "Solar System MPC"),
    ("mulens + sso candidate is ambiguous", {**MULENS, **SSO}, "Ambiguous"),
    ("mulens + mpc is ambiguous", {**MULENS, **MPC}, "Ambiguous"),
    ("mulens + early sn ia only", {**MULENS, **EARLY_ONLY}, "Early SN Ia candidate"),
    ("mulens + early sn ia (also sn) is ambiguous", {**MULENS, **EARLY}, "Ambiguous"),
    ("mulens + kilonova", {**MULENS, **KN}, "Kilonova candidate"),
    ("mulens + tracklet", {**MULENS, **TRACKLET}, "Tracklet"),
    ("sn + kilonova", {**SN, **KN}, "Kilonova candidate"),
    ("early sn ia + kilonova", {**EARLY, **KN}, "Kilonova candidate"),
    ("early sn ia only + sso candidate", {**EARLY_ONLY, **SSO}, "Solar System candidate"),
    ("early sn ia (also sn) + sso candidate", {**EARLY, **SSO}, "Ambiguous"),
    ("early sn ia only + mpc", {**EARLY_ONLY, **MPC}, "Solar System MPC"),
    ("kilonova + sso candidate", {**KN, **SSO}, "Solar System candidate"),
    ("kilonova + mpc: the kilonova filter rejects mpc", {**KN, **MPC}, "Solar System MPC"),
    ("kilonova + roid 3.5 (uncast test holds)", {**KN, "roid": 3.5}, "Solar System MPC"),
    ("kilonova + tracklet", {**KN, **TRACKLET}, "Tracklet"),
    ("sn + tracklet", {**SN, **TRACKLET}, "Tracklet"),
    ("sso candidate + tracklet", {**SSO, **TRACKLET}, "Tracklet"),
    ("mpc + tracklet", {**MPC, **TRACKLET}, "Solar System MPC"),
    ("sn + mulens + tracklet is ambiguous", {**SN, **MULENS, **TRACKLET}, "Ambiguous"),
    # SIMBAD labels
    ("simbad label alone", {"cdsxmatch": "RRLyr"}, "RRLyr"),
    ("simbad label over mulens", {**MULENS, "cdsxmatch": "RRLyr"}, "RRLyr"),
    ("simbad label over ambiguous", {**SN, **MULENS, "cdsxmatch": "QSO"}, "QSO"),
    ("simbad label over mpc", {**MPC, "cdsxmatch": "EB*"}, "EB*"),
    ("simbad star blocks sn", {**SN, "cdsxmatch": "Star"}, "Star"),
    ("Galaxy host keeps sn", {**SN, "cdsxmatch": "Galaxy"}, "SN candidate"),
    (
        "Galaxy-prefixed label is not a label",
        {**MULENS, "cdsxmatch": "GalaxyX"},
        "Microlensing candidate",
    ),
    ("Galaxy-prefixed label is no host", {**SN, "cdsxmatch": "GalaxyX"}, "Unknown"),
    ("lowercase galaxy host replaces sn", {**SN, "cdsxmatch": "galaxy"}, "galaxy"),
    ("Seyfert_2 host replaces sn", {**SN, "cdsxmatch": "Seyfert_2"}, "Seyfert_2"),
    ("SN label replaces sn", {**SN, "cdsxmatch": "SN"}, "SN"),
    (
        "Candidate_SN* label replaces kilonova",
        {**KN, "cdsxmatch": "Candidate_SN*"},
        "Candidate_SN*",
    ),
    ("Transient keeps kilonova", {**KN, "cdsxmatch": "Transient"}, "Kilonova candidate"),
    ("Fail 504 keeps sn", {**SN, "cdsxmatch": "Fail 504"}, "SN candidate"),
    ("other failure keeps class but is no host", {**SN, "cdsxmatch": "Fail 503"}, "Unknown"),
    ("other failure keeps tracklet", {**TRACKLET, "cdsxmatch": "Fail 503"}, "Tracklet"),
    # missing values: NaN comparisons are False (but NaN != 3 holds)
    ("cdsxmatch missing: no host, no label", {**SN, "cdsxmatch": None}, "Unknown"),
    ("cdsxmatch NaN keeps mulens", {**MULENS, "cdsxmatch": math.nan}, "Microlensing candidate"),
    ("roid missing keeps sn", {**SN, "roid": None}, "SN candidate"),
    ("roid NaN keeps kilonova", {**KN, "roid": math.nan}, "Kilonova candidate"),
    ("ndethist missing blocks sn", {**SN, "ndethist": None}, "Unknown"),
    ("ndethist missing blocks kilonova", {**KN, "ndethist": None}, "Unknown"),
    ("drb NaN blocks sn", {**SN, "drb": math.nan}, "Unknown"),
    ("jdstarthist missing blocks sn", {**SN, "jdstarthist": None}, "Unknown"),
    ("jd missing blocks kilonova", {**KN, "jd": None}, "Unknown"),
    ("one snn missing, the other enough", {**SN, "snn_sn_vs_all": None}, "SN candidate"),
    ("rf missing: sn but not early", {**SN, "rf_snia_vs_nonia": None}, "SN candidate"),
    ("mulens NaN", {"mulens": math.nan}, "Unknown"),
    ("mulens None", {"mulens": None}, "Unknown"),
    ("tracklet NaN", {"tracklet": math.nan}, "Unknown"),
    ("numeric strings read as floats", {"snn_snia_vs_nonia": "0.9"}, "SN candidate"),
    # Fink 1.x mulens struct: both classes ML and fewer than 100 detections
    ("mulens struct ML/ML", {"mulens": ML_STRUCT}, "Microlensing candidate"),
    (
        "mulens struct 99.9 detections",
        {"mulens": ML_STRUCT, "ndethist": 99.9},
        "Microlensing candidate",
    ),
    ("mulens struct 100 detections", {"mulens": ML_STRUCT, "ndethist": 100}, "Unknown"),
    ("mulens struct one band only", {"mulens": {**ML_STRUCT, "class_2": ""}}, "Unknown"),
    ("mulens struct + sn is ambiguous", {"mulens": ML_STRUCT, **SN}, "Ambiguous"),
]


def case_values(overrides: dict[str, Any]) -> dict[str, Any]:
    return {**QUIET, **overrides}


@pytest.mark.parametrize(
    ("overrides", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_fink_class_table(overrides: dict[str, Any], expected: str) -> None:
    assert fink_class(case_values(overrides)) == expected


def test_table_agrees_with_pandas_reference() -> None:
    """The independent evaluation used on real data gives the table's answers too."""
    rows = [case_values(overrides) for _, overrides, _ in CASES]
    assert reference_classes(pd.DataFrame(rows)) == [expected for *_, expected in CASES]


def test_every_fink_class_is_reached_by_the_table() -> None:
    assert set(FINK_CLASSES) <= {expected for *_, expected in CASES}


def test_keep_cds_is_the_issue_list() -> None:
    assert set(ISSUE_KEEP_CDS) == KEEP_CDS
    assert len(ISSUE_KEEP_CDS) == len(KEEP_CDS)


def test_rule_flags_show_what_the_simbad_label_hides() -> None:
    flags = rule_flags(case_values({**SN, **MULENS, "cdsxmatch": "QSO"}))
    assert flags.microlensing
    assert not flags.sn  # QSO is no extragalactic-host label in Fink's list
    assert flags.fink_label() == "Microlensing candidate"


def test_empty_values_are_unknown() -> None:
    assert fink_class({}) == "Unknown"
    assert fink_class(dict.fromkeys(QUIET)) == "Unknown"


@pytest.mark.parametrize(
    ("name", "bad"),
    [("snn_snia_vs_nonia", "high"), ("drb", [0.9]), ("cdsxmatch", 5), ("mulens", "ML")],
)
def test_unreadable_values_raise_a_clear_error(name: str, bad: Any) -> None:
    with pytest.raises(ClassificationInputError, match=name):
        fink_class(case_values({**SN, **KN, name: bad}))


def make_alert(values: dict[str, Any]) -> Alert:
    candidate = {name: values[name] for name in CANDIDATE_FIELDS}
    added = {name: values[name] for name in ADDED_FIELDS}
    return {"objectId": "ZTF23aaaaaaa", "candid": 1, "candidate": candidate, **added}


def test_alert_class_reads_candidate_fields_from_the_candidate() -> None:
    sn_alert = make_alert(case_values(SN))
    assert alert_class(sn_alert) == "SN candidate"
    # The same numbers at top level are not candidate fields: drb & co are then missing.
    candidate = sn_alert.pop("candidate")
    flat = {**sn_alert, **candidate}
    assert alert_class(flat) == "Unknown"


def test_alert_class_rejects_a_non_dict_candidate() -> None:
    with pytest.raises(ClassificationInputError, match="candidate"):
        alert_class({"objectId": "ZTF23aaaaaaa", "candidate": [1, 2]})


# --- independent vectorised evaluation, in the style of fink-filters' pandas code ---


def reference_classes(pdf: pd.DataFrame) -> list[str]:
    cds, roid = pdf["cdsxmatch"], pdf["roid"].astype(float)
    flags = {
        "Microlensing candidate": reference_mulens(pdf),
        "SN candidate": reference_sn(pdf),
        "Early SN Ia candidate": reference_early(pdf),
        "Kilonova candidate": reference_kn(pdf),
        "Solar System candidate": np.trunc(roid) == 2,
        "Tracklet": pdf["tracklet"].apply(lambda x: str(x).startswith("TRCK_")),
        "Solar System MPC": np.trunc(roid) == 3,
    }
    classification = pd.Series(["Unknown"] * len(pdf))
    for label, flag in flags.items():
        classification = classification.mask(flag.to_numpy(), label)
    counted = ["Microlensing candidate", "SN candidate", "Solar System candidate"]
    ambiguity = sum(flags[name].astype(int) for name in [*counted, "Solar System MPC"])
    classification = classification.mask((ambiguity > 1).to_numpy(), "Ambiguous")
    text = cds.where(cds.apply(lambda x: isinstance(x, str)), "Unknown")
    simbad = ~text.isin(["Unknown", "Transient"]) & ~text.str.startswith("Fail")
    simbad &= ~text.str.startswith("Galaxy")
    return list(np.where(simbad, text, classification))


def reference_sn_like(pdf: pd.DataFrame) -> pd.Series:
    snn = (pdf["snn_snia_vs_nonia"].astype(float) > 0.5) | (
        pdf["snn_sn_vs_all"].astype(float) > 0.5
    )
    hosts = pdf["cdsxmatch"].isin(ISSUE_KEEP_CDS)
    return snn & hosts & (pdf["drb"].astype(float) > 0.5) & (pdf["classtar"].astype(float) > 0.4)


def reference_sn(pdf: pd.DataFrame) -> pd.Series:
    age = pdf["jd"].astype(float) - pdf["jdstarthist"].astype(float)
    ndethist = np.trunc(pdf["ndethist"].astype(float))
    return (
        reference_sn_like(pdf)
        & (age <= 90)
        & (ndethist > 1)
        & (np.trunc(pdf["roid"].astype(float)) != 3)
    )


def reference_early(pdf: pd.DataFrame) -> pd.Series:
    ndethist = np.trunc(pdf["ndethist"].astype(float))
    return reference_sn_like(pdf) & (ndethist <= 20) & (pdf["rf_snia_vs_nonia"].astype(float) > 0.5)


def reference_kn(pdf: pd.DataFrame) -> pd.Series:
    age = pdf["jd"].astype(float) - pdf["jdstarthist"].astype(float)
    high = (pdf["rf_kn_vs_nonkn"].astype(float) > 0.5) & (pdf["drb"].astype(float) > 0.5)
    high &= pdf["classtar"].astype(float) > 0.4
    young = (age < 5) & (pdf["ndethist"].astype(float) < 20)
    return high & young & (pdf["roid"].astype(float) != 3) & pdf["cdsxmatch"].isin(ISSUE_KEEP_CDS)


def reference_mulens(pdf: pd.DataFrame) -> pd.Series:
    mulens = pdf["mulens"]
    struct = mulens.apply(lambda m: isinstance(m, dict))
    band_1 = mulens.apply(lambda m: m.get("class_1") if isinstance(m, dict) else None)
    band_2 = mulens.apply(lambda m: m.get("class_2") if isinstance(m, dict) else None)
    ndethist = np.trunc(pdf["ndethist"].astype(float))
    old = struct & (band_1 == "ML") & (band_2 == "ML") & (ndethist < 100)
    return old | (mulens.where(~struct).astype(float) > 0.0)


# --- real alerts ---


def real_fink_alerts(root: Path) -> list[Alert]:
    alerts: list[Alert] = []
    for path in alert_files(root / "alerts"):
        if "sso_ztf_lc_aggregated" in path.name:
            continue  # an SSO light-curve table, not alerts (alerts.files refuses it)
        alerts.extend(a for a in iter_alert_files(path) if "cdsxmatch" in a)
    return alerts


def alerts_frame(alerts: list[Alert]) -> pd.DataFrame:
    columns = {name: [a.get(name) for a in alerts] for name in ADDED_FIELDS}
    for name in CANDIDATE_FIELDS:
        columns[name] = [a["candidate"].get(name) for a in alerts]
    return pd.DataFrame(columns)


@pytest.mark.realdata
def test_real_alerts_match_the_pandas_reference(real_data_dir: Path) -> None:
    alerts = real_fink_alerts(real_data_dir)
    assert len(alerts) > 500
    ours = [alert_class(alert) for alert in alerts]
    reference = reference_classes(alerts_frame(alerts))
    mismatches = [
        (a["objectId"], o, r) for a, o, r in zip(alerts, ours, reference, strict=True) if o != r
    ]
    assert mismatches == []
    counts = Counter(ours)
    print("\nFink classes on real alerts:", dict(counts.most_common()))
    assert len(counts) > 3
