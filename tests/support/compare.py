"""Deep equality for alerts: NaN equals NaN, bytes compare exactly, types must match."""

from __future__ import annotations

import math
from typing import Any


def differences(left: Any, right: Any, path: str = "") -> list[str]:
    """Every place where two decoded alerts differ (empty when identical)."""
    if isinstance(left, dict) and isinstance(right, dict):
        out = [f"{path}.{k}: only on one side" for k in set(left) ^ set(right)]
        for key in set(left) & set(right):
            out.extend(differences(left[key], right[key], f"{path}.{key}"))
        return out
    if isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            return [f"{path}: lengths {len(left)} != {len(right)}"]
        return [d for i, (a, b) in enumerate(zip(left, right, strict=True))
                for d in differences(a, b, f"{path}[{i}]")]
    if isinstance(left, float) and isinstance(right, float):
        same = (math.isnan(left) and math.isnan(right)) or left == right
        return [] if same else [f"{path}: {left!r} != {right!r}"]
    if type(left) is not type(right) or left != right:
        return [f"{path}: {left!r} ({type(left).__name__}) != {right!r} ({type(right).__name__})"]
    return []
