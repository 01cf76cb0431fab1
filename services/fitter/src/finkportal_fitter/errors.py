"""The fitter's exception tree: every way a fit can fail, each with a message saying what to fix.

The fitting layer raises these and nothing else for expected failures; the service maps
them to job states and HTTP answers, so that a bad light curve never looks like a crash.
"""

from __future__ import annotations


class FitError(Exception):
    """Base of every expected fit failure. ``message`` is meant for the person who asked."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadLightCurveError(FitError):
    """The light curve cannot be fitted as given: too few points, no finite magnitude,
    unknown object or band. More data (or a looser cut) is the fix, not a retry."""


class InvalidFitOptionError(FitError, ValueError):
    """A fit option is out of range (period range, number of terms, method...)."""


class NoConvergenceError(FitError):
    """The optimiser ended without a usable optimum (non-finite or degenerate parameters)."""


class FitTimeoutError(FitError):
    """The fit ran past its time budget and was abandoned (raised by the service)."""

    def __init__(self, seconds: float, what: str = "fit") -> None:
        super().__init__(
            f"{what} did not finish within {seconds:g} s: ask for a narrower period range, "
            "fewer terms or a faster method (TRF instead of DE), or retry when the queue is shorter"
        )
        self.seconds = seconds
