"""``/api/v1/schema``'s document: Fink's groups, our packaged ZTF schema, real values."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from finkportal_core.alerts.files import alert_files, iter_alert_files
from finkportal_core.alerts.model import Alert, added_value_names, packaged_schema
from finkportal_query.schema_doc import (
    ADDED_GROUP,
    COMPUTED_GROUP,
    CUTOUT_GROUP,
    ZTF_GROUP,
    avro_type_text,
    schema_document,
)

# fink-object-api's /api/v1/schema d: list (docs research, section 1 "schema").
FINK_ADDED_VALUES = (
    "cdsxmatch", "gcvs", "vsx", "DR3Name", "Plx", "e_Plx", "x3hsp", "x4lac",
    "mangrove_HyperLEDA_name", "mangrove_2MASS_name", "mangrove_lum_dist",
    "mangrove_ang_dist", "spicy_id", "spicy_class", "mulens", "rf_snia_vs_nonia",
    "rf_kn_vs_nonkn", "roid", "snn_sn_vs_all", "snn_snia_vs_nonia", "anomaly_score",
    "nalerthist", "tracklet", "lc_features_g", "lc_features_r", "jd_first_real_det",
    "jdstarthist_dt", "mag_rate", "sigma_rate", "lower_rate", "upper_rate", "delta_time",
    "from_upper", "tag", "tns", "blazar_stats_m0", "blazar_stats_m1", "blazar_stats_m2",
    "gaiaClass", "gaiaVarFlag",
)
COMPUTED_COLUMNS = (
    "classification", "lastdate", "firstdate", "lapse", "constellation", "rate",
    "sigma(rate)", "g-r", "sigma(g-r)", "rate(g-r)", "sigma(rate(g-r))", "separation_degree",
)
# Keys real Fink alerts carry that are processing bookkeeping, not science values:
# Spark partition and timing columns, the concatenated light-curve arrays Fink builds
# for its modules (c*), stream-only labels, and test columns of single filters.
NOT_DOCUMENTED = frozenset((
    "year", "month", "day", "hour", "timestamp", "topic", "brokerIngestTimestamp",
    "brokerStartProcessTimestamp", "brokerEndProcessTimestamp", "cdiffmaglim", "cfid",
    "cisdiffpos", "cjd", "cmagnr", "cmagpsf", "cmagzpsci", "csigmagnr", "csigmapsf",
    "finkclass", "tnsclass", "symbiotic", "manga",
))
# Python values a documented type admits (parquet reads nullable ints as floats).
PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "double": (float, int), "float": (float, int), "int": (int, float),
    "long": (int,), "boolean": (bool,),
}
FINK_GROUPS = [ZTF_GROUP, CUTOUT_GROUP, ADDED_GROUP, COMPUTED_GROUP]
Document = dict[str, dict[str, dict[str, str]]]


@pytest.fixture(scope="module")
def document() -> Document:
    return schema_document()


@pytest.fixture(scope="module")
def real_alerts(real_data_dir: Path) -> list[Alert]:
    alerts: list[Alert] = []
    for path in alert_files(real_data_dir / "alerts"):
        if "sso_ztf_lc_aggregated" in path.name:
            continue  # a Solar System light-curve table, not alerts
        alerts.extend(iter_alert_files(path))
    return alerts


def candidate_schema_fields() -> list[dict[str, Any]]:
    root = {field["name"]: field for field in packaged_schema()["fields"]}
    fields: list[dict[str, Any]] = root["candidate"]["type"]["fields"]
    return fields


# -- the document itself ----------------------------------------------------------------


def test_groups_are_finks_in_order_and_sorted_by_name(document: Document) -> None:
    assert list(document) == FINK_GROUPS
    for group in document.values():
        assert list(group) == sorted(group)
        assert all(":" not in name for name in group)  # names without their prefix


def test_every_candidate_field_appears_with_its_schema_doc_and_type(document: Document) -> None:
    ztf = document[ZTF_GROUP]
    fields = candidate_schema_fields()
    assert len(fields) == 103
    for field in fields:
        assert ztf[field["name"]]["doc"] == field["doc"]
        assert ztf[field["name"]]["type"] == avro_type_text(field["type"])
    assert ztf["jd"]["type"] == "double"
    assert ztf["candid"] == {"type": "long", "doc": "Candidate ID from operations DB"}
    assert ztf["diffmaglim"]["type"] == "float (nullable)"
    assert ztf["ssnamenr"]["type"] == "string (nullable)"


def test_root_fields_are_documented_beside_the_candidate(document: Document) -> None:
    ztf = document[ZTF_GROUP]
    assert ztf["objectId"] == {"type": "string", "doc": "object identifier or name"}
    assert ztf["schemavsn"] == {"type": "string", "doc": "schema version used"}
    assert ztf["publisher"] == {"type": "string", "doc": "origin of alert packet"}
    assert ztf["fp_hists"]["type"] == "array<record fp_hist> (nullable)"
    assert len(ztf) == len(candidate_schema_fields()) + 4  # candid is the candidate's


def test_avro_types_render_as_short_text() -> None:
    assert avro_type_text("long") == "long"
    assert avro_type_text(["null", "double"]) == "double (nullable)"
    assert avro_type_text(["int", "string"]) == "int | string"
    assert avro_type_text({"type": "array", "items": "float"}) == "array<float>"
    assert avro_type_text({"type": "record", "name": "cutout", "fields": []}) == "record cutout"


def test_cutouts_are_the_three_stamps_as_arrays(document: Document) -> None:
    cutouts = document[CUTOUT_GROUP]
    assert sorted(cutouts) == ["cutoutDifference_stampData", "cutoutScience_stampData",
                               "cutoutTemplate_stampData"]
    for entry in cutouts.values():
        assert entry["type"] == "array"
        assert "gzip-compressed FITS" in entry["doc"]


def test_every_added_value_of_finks_schema_is_documented(document: Document) -> None:
    added = document[ADDED_GROUP]
    missing = [name for name in FINK_ADDED_VALUES if name not in added]
    assert missing == []
    assert all(entry["type"] and len(entry["doc"]) > 20 for entry in added.values())
    assert "upperlim" in added["tag"]["doc"]
    assert "badquality" in added["tag"]["doc"]


def test_every_computed_column_is_documented(document: Document) -> None:
    computed = document[COMPUTED_GROUP]
    assert sorted(computed) == sorted(COMPUTED_COLUMNS)
    assert {entry["type"] for entry in computed.values()} == {"string", "double"}
    assert "i:jdstarthist" in computed["firstdate"]["doc"]


def test_the_document_is_json_and_built_once(document: Document) -> None:
    assert json.loads(json.dumps(document)) == document
    assert all(isinstance(text, str) for group in document.values()
               for entry in group.values() for text in entry.values())
    assert schema_document() is document


# -- against real alerts ----------------------------------------------------------------


@pytest.mark.realdata
def test_real_added_values_are_documented_or_bookkeeping(
        document: Document, real_alerts: list[Alert]) -> None:
    real_keys = {key for alert in real_alerts for key in added_value_names(alert)}
    documented = set(document[ADDED_GROUP])
    print("\nreal added-value keys:", sorted(real_keys))
    assert len(real_keys) > 40
    assert real_keys & set(FINK_ADDED_VALUES) <= documented
    assert real_keys - documented <= NOT_DOCUMENTED
    assert not NOT_DOCUMENTED & documented


@pytest.mark.realdata
def test_real_candidate_fields_are_documented(
        document: Document, real_alerts: list[Alert]) -> None:
    real_fields = {name for alert in real_alerts for name in alert["candidate"]}
    assert len(real_alerts) > 2000
    assert real_fields <= set(document[ZTF_GROUP])


@pytest.mark.realdata
def test_real_values_have_the_documented_types(
        document: Document, real_alerts: list[Alert]) -> None:
    entries = {**document[ZTF_GROUP], **document[ADDED_GROUP]}
    wrong: dict[str, set[str]] = defaultdict(set)
    for alert in real_alerts:
        values = {**alert["candidate"], **{key: alert[key] for key in added_value_names(alert)}}
        for name, value in values.items():
            if name in entries and value is not None and not _admits(entries[name]["type"],
                                                                    value):
                wrong[name].add(type(value).__name__)
    # mulens is a record in alerts of fink-science < 0.5.0, as its doc says.
    assert dict(wrong) == {"mulens": {"dict"}}
    assert "record" in entries["mulens"]["doc"]


def _admits(documented_type: str, value: Any) -> bool:
    base = documented_type.removesuffix(" (nullable)")
    if base.startswith(("map<", "struct<")):
        return isinstance(value, dict)
    if isinstance(value, bool) and base != "boolean":
        return False
    return isinstance(value, PYTHON_TYPES[base])
