"""finkportal query: the Fink-compatible public REST API (FastAPI)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("finkportal-query")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"
