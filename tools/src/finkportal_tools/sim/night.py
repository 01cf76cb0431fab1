"""Generate one synthetic ZTF night, lazily and reproducibly from a seed.

Alerts come out exposure by exposure, so in ``candidate.jd`` order; only one
field's objects are in memory at a time, whatever the size of the night. Every
random stream is derived from ``(seed, what)``:
the same arguments give byte-identical alerts, and switching cutouts or Fink
values on or off changes nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date
from typing import Any

import numpy as np

from finkportal_core.alerts.model import Alert
from finkportal_tools.sim.alert import build_alert, epoch_pid, history_stats
from finkportal_tools.sim.cutouts import CutoutFactory
from finkportal_tools.sim.fink import fink_values
from finkportal_tools.sim.identifiers import object_id
from finkportal_tools.sim.objects import TONIGHT_G, TONIGHT_R, SimObject, realise
from finkportal_tools.sim.population import draw_source, normalised_mix
from finkportal_tools.sim.records import epoch_candid, jd_to_date
from finkportal_tools.sim.survey import (
    Epochs,
    Exposure,
    Field,
    field_history,
    night_id,
    plan_night,
)

# Earlier nights simulated beyond the prv_candidates window, for ndethist/jdstarthist.
_EXTRA_HISTORY_DAYS = 30
_MAX_DRAWS_PER_ALERT = 200
_FINK_STREAM, _OBJECT_STREAM, _HISTORY_STREAM = 0x46494E4B, 1, 2


@dataclass(frozen=True)
class NightConfig:
    """Everything that decides a synthetic night."""

    n_alerts: int
    seed: int
    night: date
    cutouts: bool = True
    fink_values: bool = True
    mix: Mapping[str, float] | None = None
    history_days: int = 30
    compresslevel: int = 1

    def __post_init__(self) -> None:
        if self.n_alerts < 0:
            raise ValueError(f"n_alerts must be >= 0, got {self.n_alerts}")
        if self.history_days < 1:
            raise ValueError(f"history_days must be >= 1, got {self.history_days}")
        normalised_mix(self.mix)  # fail early on a bad mix
        night_id(self.night)  # ... or a night outside the survey years


@dataclass
class _FieldState:
    """One field being observed tonight: its history and the objects drawn so far."""

    slot: int
    field: Field
    epochs: Epochs
    rng: np.random.Generator
    jd_tonight: float
    draws: int = 0
    g_objects: list[SimObject] = dataclass_field(default_factory=list)
    r_pending: list[SimObject] = dataclass_field(default_factory=list)


class NightSimulator:
    """The alerts of one night, all of them or exposure by exposure.

    Each exposure's alerts depend only on the configuration and the exposure:
    the second visit of a field re-draws the field's objects from the field's
    own random streams (cheap next to building the alerts) rather than keeping
    state, so exposures can be generated in any order, in several processes,
    and memory does not grow with the night.
    """

    def __init__(self, config: NightConfig):
        self.config = config
        self._kinds, self._probs = normalised_mix(config.mix)
        self._plan = plan_night(max(config.n_alerts, 1), config.night, config.seed)
        self._cutouts = CutoutFactory(config.seed, config.compresslevel) if config.cutouts else None

    @property
    def exposures(self) -> tuple[Exposure, ...]:
        """Tonight's exposures in observing order."""
        return self._plan.exposures

    def alerts_with_truth(self) -> Iterator[tuple[Alert, dict[str, Any]]]:
        """Every alert of the night (``n_alerts`` of them) in time order, with its truth."""
        remaining = self.config.n_alerts
        for exposure in self._plan.exposures:
            for item in self.exposure_alerts(exposure.index):
                if remaining <= 0:
                    return
                remaining -= 1
                yield item

    def exposure_alerts(self, index: int) -> Iterator[tuple[Alert, dict[str, Any]]]:
        """The alerts of exposure ``index`` (before the night's ``n_alerts`` cut)."""
        exposure = self._plan.exposures[index]
        first_index, second_index = self._plan.visits[exposure.slot]
        first, second = self._plan.exposures[first_index], self._plan.exposures[second_index]
        state = self._open_field(first, second)
        objects, epoch = self._fill_first_visit(state, first.quota), TONIGHT_G
        if exposure.fid != first.fid:
            objects, epoch = self._fill_second_visit(state, second.quota), TONIGHT_R
        fink_rng = np.random.default_rng([self.config.seed, index, _FINK_STREAM])
        for obj in objects:
            yield self._emit(obj, epoch, fink_rng)

    def _open_field(self, first: Exposure, second: Exposure) -> _FieldState:
        seed, slot = self.config.seed, first.slot
        span = self.config.history_days + _EXTRA_HISTORY_DAYS
        history_rng = np.random.default_rng([seed, slot, _HISTORY_STREAM])
        epochs = field_history((first, second), self.config.night, span, history_rng)
        rng = np.random.default_rng([seed, slot, _OBJECT_STREAM])
        return _FieldState(slot, first.field, epochs, rng, first.jd)

    def _draw(self, state: _FieldState, quota: int, visit: int) -> SimObject:
        state.draws += 1
        if state.draws > _MAX_DRAWS_PER_ALERT * max(quota, 1):
            raise ValueError("the population mix almost never produces a detection; "
                               "add brighter kinds (sn_ia, periodic, asteroid)")
        source = draw_source(state.rng, self._kinds, self._probs, state.jd_tonight)
        single = visit if not source.real else None
        return realise(source, state.slot, state.draws, state.field, state.epochs, state.rng,
                       single)

    def _fill_first_visit(self, state: _FieldState, quota: int) -> list[SimObject]:
        while len(state.g_objects) < quota:
            obj = self._draw(state, quota, TONIGHT_G)
            if obj.detected_at(TONIGHT_G):
                state.g_objects.append(obj)
            elif obj.detected_at(TONIGHT_R) and obj.source.real:
                state.r_pending.append(obj)
        return state.g_objects

    def _fill_second_visit(self, state: _FieldState, quota: int) -> list[SimObject]:
        seen = [o for o in state.g_objects if o.source.real and o.detected_at(TONIGHT_R)]
        chosen = seen + state.r_pending
        while len(chosen) < quota:
            obj = self._draw(state, quota, TONIGHT_R)
            # Objects seen in g belong to the first visit, already complete: skip them.
            if obj.detected_at(TONIGHT_R) and not obj.detected_at(TONIGHT_G):
                chosen.append(obj)
        return sorted(chosen, key=lambda o: o.index)

    def _emit(
        self, obj: SimObject, epoch: int, fink_rng: np.random.Generator,
    ) -> tuple[Alert, dict[str, Any]]:
        object_id, truth = self._identify(obj, epoch)
        alert: Alert = build_alert(obj, epoch, object_id, self.config.history_days)
        if self._cutouts is not None:
            alert.update(self._cutouts.cutouts(obj, epoch, alert["candid"], epoch_pid(obj, epoch)))
        else:
            alert.update(cutoutScience=None, cutoutTemplate=None, cutoutDifference=None)
        if self.config.fink_values:
            ndethist = alert["candidate"]["ndethist"]
            alert.update(fink_values(obj.source.kind, obj.source.truth, ndethist, fink_rng))
        return alert, truth

    def _identify(self, obj: SimObject, epoch: int) -> tuple[str, dict[str, Any]]:
        """The objectId of this detection and the truth of that object."""
        if obj.object_id is not None and obj.truth is not None and not obj.source.moving:
            return obj.object_id, obj.truth
        year = jd_to_date(history_stats(obj, epoch).jdstarthist).year
        visit = 1 if obj.source.moving and epoch == TONIGHT_R else 0
        new_id = object_id(self.config.seed, year, obj.slot, obj.index, visit)
        ra, dec = obj.position_at(epoch)
        truth = {**obj.source.truth, "object_id": new_id, "ra": ra, "dec": dec,
                 "field": obj.field.field_id, "first_candid": epoch_candid(obj, epoch)}
        obj.object_id, obj.truth = new_id, truth
        return new_id, truth


def generate_night_with_truth(
    n_alerts: int, seed: int, night: date, **options: Any,
) -> Iterator[tuple[Alert, dict[str, Any]]]:
    """Like :func:`generate_night`, pairing each alert with its object's truth dict.

    The truth dict (shared by every alert of the object) holds ``type``
    (``sn_ia``, ``periodic``, ``microlensing``, ``asteroid``, ``bogus``), the
    model parameters (``period``, ``t0``/``u0``/``tE``, ``t_peak``...),
    ``object_id`` and the true ``ra``/``dec``.
    """
    config = NightConfig(n_alerts=n_alerts, seed=seed, night=night, **options)
    return NightSimulator(config).alerts_with_truth()


def generate_night(n_alerts: int, seed: int, night: date, **options: Any) -> Iterator[Alert]:
    """``n_alerts`` synthetic ZTF 4.02 alerts of ``night``, in time order.

    Options (keywords of :class:`NightConfig`): ``cutouts`` (default True),
    ``fink_values`` (default True: Fink added values at top level), ``mix``
    (population weights by kind), ``history_days`` (prv_candidates window, 30
    like ZTF) and ``compresslevel`` (gzip level of the cutouts).
    """
    for alert, _truth in generate_night_with_truth(n_alerts, seed, night, **options):
        yield alert
