"""Build ZTF 4.02 ``candidate`` and ``prv_candidates`` records from simulated objects."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import numpy as np

from finkportal_tools.sim.identifiers import candidate_id, processing_id
from finkportal_tools.sim.objects import SimObject, measured_position
from finkportal_tools.sim.photometry import MAG_PER_LN
from finkportal_tools.sim.survey import JD_UNIX_EPOCH

PROGRAM_PI = "Kulkarni"
RB_VERSION = "t17_f5_c3"
DRB_VERSION = "d6_m7"
_ZP = {1: 26.3, 2: 26.15}
_BAND = {1: "g", 2: "r"}
_MISSING = -999.0
_NO_SSO = {"ssdistnr": _MISSING, "ssmagnr": _MISSING, "ssnamenr": "null"}


def jd_to_date(jd: float) -> date:
    return date(1970, 1, 1) + timedelta(days=math.floor(jd - JD_UNIX_EPOCH))


def _pdiffimfilename(obj: SimObject, epoch: int) -> str:
    jd = float(obj.epochs.jd[epoch])
    fid = int(obj.epochs.fid[epoch])
    ccd, quadrant = divmod(obj.placement.rcid, 4)
    stamp = f"{jd_to_date(jd):%Y%m%d}{int((jd % 1.0) * 1e6):06d}"
    return (f"ztf_{stamp}_{obj.field.field_id:06d}_z{_BAND[fid]}_c{ccd + 1:02d}_o_"
            f"q{quadrant + 1}_scimrefdiffimg.fits")


def epoch_pid(obj: SimObject, epoch: int) -> int:
    return processing_id(int(obj.epochs.nid[epoch]), float(obj.epochs.jd[epoch]),
                         int(obj.epochs.fid[epoch]), obj.placement.rcid)


def epoch_candid(obj: SimObject, epoch: int) -> int:
    return candidate_id(epoch_pid(obj, epoch), obj.index)


def _calibration(obj: SimObject, epoch: int) -> dict[str, Any]:
    fid = int(obj.epochs.fid[epoch])
    jitter = (float(obj.epochs.diffmaglim[epoch]) - 20.3) * 0.1
    return {"magzpsci": _ZP[fid] + jitter, "magzpsciunc": 2e-5, "magzpscirms": 0.03,
            "clrcoeff": 0.09 if fid == 1 else -0.03, "clrcounc": 2e-5}


def visit_fields(obj: SimObject, epoch: int) -> dict[str, Any]:
    """Fields every entry for an epoch carries, detected or not (shared: do not modify)."""
    key = (epoch % len(obj.epochs), obj.placement.rcid)
    fields = obj.epochs.cache.get(key)
    if fields is None:
        fields = obj.epochs.cache[key] = _make_visit_fields(obj, epoch)
    return fields


def _make_visit_fields(obj: SimObject, epoch: int) -> dict[str, Any]:
    return {
        "jd": float(obj.epochs.jd[epoch]), "fid": int(obj.epochs.fid[epoch]),
        "pid": epoch_pid(obj, epoch), "diffmaglim": float(obj.epochs.diffmaglim[epoch]),
        "pdiffimfilename": _pdiffimfilename(obj, epoch), "programpi": PROGRAM_PI,
        "programid": 1, "nid": int(obj.epochs.nid[epoch]), "rcid": obj.placement.rcid,
        "field": obj.field.field_id, "rbversion": RB_VERSION, **_calibration(obj, epoch),
    }


def _reference_fields(obj: SimObject, fid: int) -> dict[str, Any]:
    cat = obj.source.catalog
    magnr = float(cat["magnr"][fid - 1])
    angle = obj.source.extra.get("host_angle", (obj.index * 2.399963) % (2 * math.pi))
    dist_deg = cat["distnr"] / 3600.0
    decnr = obj.dec + dist_deg * math.cos(angle)
    ranr = obj.ra + dist_deg * math.sin(angle) / max(math.cos(math.radians(obj.dec)), 0.05)
    return {
        "distnr": float(cat["distnr"]), "magnr": magnr,
        "sigmagnr": 0.005 + 0.02 * 10 ** (0.4 * (magnr - 19.0)),
        "chinr": float(cat["chinr"]), "sharpnr": float(cat["sharpnr"]),
        "ranr": ranr % 360.0, "decnr": decnr,
    }


def _sso_fields(obj: SimObject) -> dict[str, Any]:
    truth = obj.source.truth
    if obj.source.kind != "asteroid":
        return dict(_NO_SSO)
    return {"ssdistnr": truth["ssdistnr"], "ssmagnr": truth["ssmagnr"],
            "ssnamenr": truth["ssnamenr"]}


def detection_fields(obj: SimObject, epoch: int) -> dict[str, Any]:
    """What a detection reports at ``epoch``: shared by candidate and prv_candidates."""
    q, fid = obj.quality, int(obj.epochs.fid[epoch])
    magpsf = float(obj.obs.magpsf[epoch])
    sigmapsf = float(obj.obs.sigmapsf[epoch])
    magap = magpsf + 1.2 * sigmapsf * float(q.aperture_noise[epoch])
    ra, dec = measured_position(obj, epoch)
    fwhm = float(obj.epochs.fwhm[epoch])
    aimage = 0.3 * fwhm * math.sqrt(float(q.elong[epoch]))
    bimage = aimage / float(q.elong[epoch])
    return {
        **visit_fields(obj, epoch), "candid": epoch_candid(obj, epoch),
        "isdiffpos": "t" if obj.obs.positive[epoch] else "f", "tblid": obj.index,
        "xpos": obj.placement.xpos, "ypos": obj.placement.ypos, "ra": ra, "dec": dec,
        "magpsf": magpsf, "sigmapsf": sigmapsf, "chipsf": float(q.chipsf[epoch]),
        "magap": magap, "sigmagap": 1.2 * sigmapsf, "magapbig": magap - 0.02,
        "sigmagapbig": 1.4 * sigmapsf, "sky": float(q.sky[epoch]), "magdiff": magap - magpsf,
        "fwhm": fwhm, "classtar": float(obj.source.catalog["classtar"]),
        "mindtoedge": obj.placement.mindtoedge,
        "magfromlim": float(obj.epochs.diffmaglim[epoch]) - magap,
        "seeratio": 1.0 + 0.05 * (fwhm - 2.1), "aimage": aimage, "bimage": bimage,
        "aimagerat": aimage / fwhm, "bimagerat": bimage / fwhm,
        "elong": float(q.elong[epoch]), "nneg": int(q.nbad[epoch] * 3),
        "nbad": int(q.nbad[epoch]), "rb": float(q.rb[epoch]),
        "sumrat": 1.0 if obj.source.real else 0.6, "scorr": MAG_PER_LN / sigmapsf,
        **_reference_fields(obj, fid), **_sso_fields(obj),
    }


PRV_FIELDS = (
    "jd", "fid", "pid", "diffmaglim", "pdiffimfilename", "programpi", "programid", "candid",
    "isdiffpos", "tblid", "nid", "rcid", "field", "xpos", "ypos", "ra", "dec", "magpsf",
    "sigmapsf", "chipsf", "magap", "sigmagap", "distnr", "magnr", "sigmagnr", "chinr",
    "sharpnr", "sky", "magdiff", "fwhm", "classtar", "mindtoedge", "magfromlim", "seeratio",
    "aimage", "bimage", "aimagerat", "bimagerat", "elong", "nneg", "nbad", "rb", "ssdistnr",
    "ssmagnr", "ssnamenr", "sumrat", "magapbig", "sigmagapbig", "ranr", "decnr", "scorr",
    "magzpsci", "magzpsciunc", "magzpscirms", "clrcoeff", "clrcounc", "rbversion",
)
_EMPTY_PRV = dict.fromkeys(PRV_FIELDS)


def prv_candidate(obj: SimObject, epoch: int, detected: bool) -> dict[str, Any]:
    """One history entry: a full detection or an upper limit (null magpsf)."""
    if detected:
        fields = detection_fields(obj, epoch)
        return {name: fields[name] for name in PRV_FIELDS}
    entry = dict(_EMPTY_PRV)
    entry.update(visit_fields(obj, epoch))
    return entry


def prv_candidates(obj: SimObject, epoch: int, history_days: float) -> list[dict[str, Any]]:
    """Every earlier visit within ``history_days`` of ``epoch``, oldest first."""
    jd = obj.epochs.jd
    window = np.flatnonzero((jd < jd[epoch]) & (jd >= jd[epoch] - history_days))
    # A moving source was never at this position before: history is limits only.
    detected = obj.obs.detected & (not obj.source.moving)
    return [prv_candidate(obj, int(k), bool(detected[k])) for k in window]
