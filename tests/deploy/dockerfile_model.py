"""A small reader of the Dockerfile: its stages, their instructions and lineage.

Enough of the Dockerfile grammar for the deployment tests (no Docker engine here):
line continuations, comments, ``FROM <image> AS <name>`` and exec-form JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

_FROM = re.compile(r"^(?:--\S+\s+)*(?P<base>\S+)(?:\s+AS\s+(?P<name>\S+))?$", re.IGNORECASE)


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: RUN, COPY, ENV...
    arguments: str


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[Instruction] = field(default_factory=list)

    def arguments(self, keyword: str) -> list[str]:
        return [i.arguments for i in self.instructions if i.keyword == keyword]


@dataclass
class Dockerfile:
    stages: dict[str, Stage]
    global_args: dict[str, str]  # ARG defaults declared before the first FROM

    def lineage(self, target: str) -> list[Stage]:
        """The stage and every stage it is built FROM, target first."""
        chain = [self.stages[target]]
        while chain[-1].base in self.stages:
            chain.append(self.stages[chain[-1].base])
        return chain

    def last(self, target: str, keyword: str) -> str | None:
        """The instruction in force for ``target`` (the nearest one in its lineage)."""
        for stage in self.lineage(target):
            found = stage.arguments(keyword)
            if found:
                return found[-1]
        return None

    def env(self, target: str) -> dict[str, str]:
        """ENV values in force for ``target`` (later stages override earlier ones)."""
        values: dict[str, str] = {}
        for stage in reversed(self.lineage(target)):
            for arguments in stage.arguments("ENV"):
                values.update(parse_env(arguments))
        return values


def logical_lines(text: str) -> list[str]:
    """Source lines with comments dropped and backslash continuations joined."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    return lines


def parse(path: Path) -> Dockerfile:
    stages: dict[str, Stage] = {}
    global_args: dict[str, str] = {}
    current: Stage | None = None
    for line in logical_lines(path.read_text()):
        keyword, _, arguments = line.partition(" ")
        keyword, arguments = keyword.upper(), arguments.strip()
        if keyword == "FROM":
            match = _FROM.match(arguments)
            assert match, f"unreadable FROM line: {line}"
            name = match["name"] or f"stage{len(stages)}"
            current = stages[name] = Stage(name=name, base=match["base"])
        elif current is not None:
            current.instructions.append(Instruction(keyword, arguments))
        elif keyword == "ARG":
            name, _, default = arguments.partition("=")
            global_args[name] = default
    return Dockerfile(stages, global_args)


def parse_env(arguments: str) -> dict[str, str]:
    """``ENV A=1 B=2`` (key=value pairs separated by blanks; no quoting used here)."""
    pairs = arguments.split()
    assert all("=" in pair for pair in pairs), f"ENV must use key=value: {arguments}"
    return dict(pair.split("=", 1) for pair in pairs)


def exec_form(arguments: str) -> list[str]:
    """The JSON array of an exec-form ENTRYPOINT/CMD (shell form is refused)."""
    value = json.loads(arguments)
    assert isinstance(value, list), f"not exec form: {arguments}"
    return [str(item) for item in value]
