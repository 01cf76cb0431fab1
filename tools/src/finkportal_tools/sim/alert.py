"""Assemble a full ZTF 4.02 alert (plus optional Fink values) for one detection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from finkportal_tools.sim.objects import SimObject
from finkportal_tools.sim.photometry import flux_sigma, mag_to_flux
from finkportal_tools.sim.records import (
    DRB_VERSION,
    detection_fields,
    epoch_candid,
    epoch_pid,
    prv_candidates,
    visit_fields,
)

SCHEMA_VERSION = "4.02"
PUBLISHER = "ZTF (www.ztf.caltech.edu)"
_MISSING = -999.0


@dataclass(frozen=True)
class HistoryStats:
    ndethist: int
    ncovhist: int
    jdstarthist: float


def history_stats(obj: SimObject, epoch: int) -> HistoryStats:
    """Detections and coverage of the position up to and including ``epoch``."""
    upto = epoch % len(obj.epochs) + 1
    jd = float(obj.epochs.jd[epoch])
    if obj.source.moving:
        return HistoryStats(1, upto + _prior_coverage(obj), jd)
    detected = np.flatnonzero(obj.obs.detected[:upto])
    prior = int(obj.source.extra.get("prior_detections", 0))
    first = float(obj.epochs.jd[detected[0]]) if len(detected) else jd
    if prior:
        first = min(first, float(obj.source.extra["first_detection_jd"]))
    return HistoryStats(len(detected) + prior, upto + _prior_coverage(obj), first)


def _prior_coverage(obj: SimObject) -> int:
    """Visits of the field before the simulated window (a fixed per-field number)."""
    return 200 + (obj.field.field_id * 37) % 1200


def _ps1_id(ra: float, dec: float, rank: int) -> int:
    """Pan-STARRS-like objID: declination zone, then RA digits."""
    zone = int((dec + 90.0) / 0.0083333)
    return zone * 10**13 + int(ra * 1e10) % 10**13 + rank


def _neighbour_fields(obj: SimObject) -> dict[str, Any]:
    cat = obj.source.catalog
    r = float(cat["srmag1"])
    fields: dict[str, Any] = {
        "objectidps1": _ps1_id(obj.ra, obj.dec, 1), "sgmag1": float(cat["sgmag1"]),
        "srmag1": r, "simag1": r - 0.2, "szmag1": r - 0.3,
        "sgscore1": float(cat["sgscore1"]), "distpsnr1": float(cat["distpsnr1"]),
    }
    for rank in (2, 3):
        # Fainter unrelated neighbours a few arcsec away, like most ZTF alerts have.
        mag = 19.5 + 0.7 * rank + (obj.index % 7) * 0.1
        fields.update({
            f"objectidps{rank}": _ps1_id(obj.ra, obj.dec, rank), f"sgmag{rank}": mag + 0.5,
            f"srmag{rank}": mag, f"simag{rank}": mag - 0.2, f"szmag{rank}": mag - 0.3,
            f"sgscore{rank}": 0.5, f"distpsnr{rank}": 3.0 + 2.0 * rank + (obj.index % 5) * 0.7,
        })
    return fields


def _gaia_fields(obj: SimObject) -> dict[str, Any]:
    cat = obj.source.catalog
    return {"neargaia": float(cat["neargaia"]), "maggaia": float(cat["maggaia"]),
            "neargaiabright": 30.0 + (obj.index % 11) * 5.0, "maggaiabright": 12.5}


def _reference_image_fields(obj: SimObject, fid: int) -> dict[str, Any]:
    field_id = obj.field.field_id
    return {
        "rfid": field_id * 10**6 + 120_000 + fid * 100 + obj.placement.rcid,
        "jdstartref": 2458200.5 + field_id % 90, "jdendref": 2458380.5 + field_id % 60,
        "nframesref": 15 + field_id % 25, "nmtchps": 20 + obj.index % 40,
        "nmatches": 800 + (field_id * 13) % 1500,
    }


def candidate_record(obj: SimObject, epoch: int) -> dict[str, Any]:
    """The ``candidate`` record of the alert issued for ``obj`` at ``epoch``."""
    fid = int(obj.epochs.fid[epoch])
    stats = history_stats(obj, epoch)
    drb = float(obj.quality.drb[epoch])
    return {
        **detection_fields(obj, epoch), **_neighbour_fields(obj), **_gaia_fields(obj),
        **_reference_image_fields(obj, fid),
        "ndethist": stats.ndethist, "ncovhist": stats.ncovhist,
        "jdstarthist": stats.jdstarthist, "jdendhist": float(obj.epochs.jd[epoch]),
        "tooflag": 0, "dsnrms": 8.0 + obj.index % 5, "ssnrms": 12.0 + obj.index % 7,
        "dsdiff": -4.0 - obj.index % 3, "zpclrcov": -2.9e-4, "zpmed": 26.2, "clrmed": 0.7,
        "clrrms": 0.2, "exptime": 30.0, "drb": drb, "drbversion": DRB_VERSION,
    }


def forced_photometry(obj: SimObject, epoch: int, history_days: float) -> list[dict[str, Any]]:
    """``fp_hists``: forced difference flux at the position for every earlier visit."""
    jd = obj.epochs.jd
    window = np.flatnonzero((jd < jd[epoch]) & (jd >= jd[epoch] - history_days))
    flux = obj.obs.diff_flux[window] if not obj.source.moving else np.zeros(len(window))
    sigma = flux_sigma(mag_to_flux(obj.true_mag[window]), obj.epochs.diffmaglim[window])
    return [_fp_entry(obj, int(k), float(f), float(s))
            for k, f, s in zip(window, flux, sigma, strict=True)]


def _fp_entry(obj: SimObject, epoch: int, flux: float, sigma: float) -> dict[str, Any]:
    visit = visit_fields(obj, epoch)
    # Forced photometry is in DN at the image zero point, not at our unit zero point 25.
    scale = 10 ** (0.4 * (visit["magzpsci"] - 25.0))
    ref = _reference_fields_for_fp(obj, int(visit["fid"]))
    return {
        "field": visit["field"], "rcid": visit["rcid"], "fid": visit["fid"],
        "pid": visit["pid"], "rfid": _reference_image_fields(obj, visit["fid"])["rfid"],
        "sciinpseeing": float(obj.epochs.fwhm[epoch]), "scibckgnd": 150.0, "scisigpix": 8.0,
        "magzpsci": visit["magzpsci"], "magzpsciunc": visit["magzpsciunc"],
        "magzpscirms": visit["magzpscirms"], "clrcoeff": visit["clrcoeff"],
        "clrcounc": visit["clrcounc"], "exptime": 30.0, "adpctdif1": 0.1, "adpctdif2": 0.1,
        "diffmaglim": visit["diffmaglim"], "programid": 1, "jd": visit["jd"],
        "forcediffimflux": flux * scale, "forcediffimfluxunc": sigma * scale,
        "procstatus": "0", **ref,
    }


def _reference_fields_for_fp(obj: SimObject, fid: int) -> dict[str, Any]:
    cat = obj.source.catalog
    return {"distnr": float(cat["distnr"]), "ranr": obj.ra, "decnr": obj.dec,
            "magnr": float(cat["magnr"][fid - 1]), "sigmagnr": 0.02,
            "chinr": float(cat["chinr"]), "sharpnr": float(cat["sharpnr"])}


def build_alert(
    obj: SimObject, epoch: int, object_id: str, history_days: float,
) -> dict[str, Any]:
    """The ZTF part of the alert (no cutouts, no added values)."""
    candidate = candidate_record(obj, epoch)
    return {
        "schemavsn": SCHEMA_VERSION, "publisher": PUBLISHER, "objectId": object_id,
        "candid": epoch_candid(obj, epoch), "candidate": candidate,
        "prv_candidates": prv_candidates(obj, epoch, history_days),
        "fp_hists": forced_photometry(obj, epoch, history_days),
    }


__all__ = ["build_alert", "epoch_pid", "history_stats"]
