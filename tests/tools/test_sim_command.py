"""The ``generate`` command writes readable ZTF packets and the objects' truth."""

from __future__ import annotations

import argparse
import json
from datetime import date

import pytest

from finkportal_core.alerts import alert_files, iter_alert_files
from finkportal_tools.sim import add_generate_parser, generate_night
from finkportal_tools.sim.command import parse_mix


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_generate_parser(parser.add_subparsers())
    return parser.parse_args(argv)


def test_generate_writes_a_nightly_tarball_and_truth(tmp_path):
    archive, truth = tmp_path / "ztf_public_20231015.tar.gz", tmp_path / "truth.jsonl"
    args = parse(["generate", str(archive), "--alerts", "60", "--seed", "2",
                  "--night", "2023-10-15", "--truth", str(truth)])
    assert args.func(args) == 0
    alerts = list(iter_alert_files(archive))
    expected = list(generate_night(60, 2, date(2023, 10, 15)))
    assert [a["candid"] for a in alerts] == [a["candid"] for a in expected]
    assert alerts[0]["cdsxmatch"] == expected[0]["cdsxmatch"]  # Fink values kept
    assert alerts[0]["cutoutScience"] == expected[0]["cutoutScience"]
    objects = [json.loads(line) for line in truth.read_text().splitlines()]
    assert {o["object_id"] for o in objects} == {a["objectId"] for a in alerts}
    assert all(o["type"] in {"sn_ia", "periodic", "microlensing", "asteroid", "bogus"}
               for o in objects)


def test_generate_writes_pure_ztf_packets_to_a_directory(tmp_path):
    args = parse(["generate", str(tmp_path / "night"), "--alerts", "25", "--no-cutouts",
                  "--no-fink-values", "--mix", "sn_ia=1"])
    assert args.func(args) == 0
    files = alert_files(tmp_path / "night")
    assert len(files) == 25
    assert all(f.name.endswith(".avro") for f in files)
    alerts = list(iter_alert_files(tmp_path / "night"))
    assert all("cdsxmatch" not in a and a["cutoutScience"] is None for a in alerts)
    assert {f.stem for f in files} == {str(a["candid"]) for a in alerts}


def test_mix_syntax_errors_are_explained():
    assert parse_mix("sn_ia=0.5, bogus=0.5") == {"sn_ia": 0.5, "bogus": 0.5}
    with pytest.raises(argparse.ArgumentTypeError, match="kind=weight"):
        parse_mix("supernova=1")
    with pytest.raises(argparse.ArgumentTypeError, match="bad weight"):
        parse_mix("sn_ia=lots")


def test_impossible_output_is_a_clear_failure(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    args = parse(["generate", str(blocker / "night"), "--alerts", "3"])
    assert args.func(args) == 2
    assert "generate:" in capsys.readouterr().err
