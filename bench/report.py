"""Keep docs/benchmarks.md as one section per benchmark, each rewritten by its own run."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

Each section is written by its benchmark (`make bench-<name>`) with the machine and date of
the run. Goals come from the issues; numbers are measured, never edited by hand.
"""


def write_section(name: str, body: str) -> None:
    """Replace (or append) the section between this benchmark's markers."""
    text = DOC.read_text() if DOC.exists() else HEADER
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _m: block, text) if pattern.search(text) else f"{text}\n{block}\n"
    DOC.write_text(text)
