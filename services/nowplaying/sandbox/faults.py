"""Fault injection: rules per API, set from a spec string (``SANDBOX_FAULTS``) or the admin API.

Spec string: comma-separated ``api:mode[=param][:when]`` items, for example
``spotify:429:0.1,x:503:0.05,mastodon:slow=2.5:n3,bluesky:drop:n1,spotify:429long:n1``.

* ``api``: ``x``, ``spotify`` (both the token endpoint and the Web API), ``reccobeats``,
  ``mastodon``, ``bluesky`` or ``*`` (all).
* ``mode``: ``429`` (rate limited, short reset: ``param`` seconds, default 2), ``429long``
  (rate limited for ``param`` seconds, default 20000: Spotify's absurd ``Retry-After``), any
  other HTTP status such as ``500``, ``502``, ``503``, ``504``, ``401``, ``402``, ``403`` (the
  API's own error body; X 403 is ``client-not-enrolled``), ``slow`` (answer after ``param``
  seconds, default 2), ``drop`` (close the connection without a response), ``malformed``
  (200 with a body that is not JSON), ``truncated`` (the real answer cut in half, the
  connection closed before the announced Content-Length).
* ``when``: a probability (``0.1``), or ``nN`` for "the next N requests". Default: every request.

Admin JSON (``POST /_admin/faults``): ``{"rules": [{"api": "x", "mode": "503", "probability": 0.5,
"count": null, "param": null, "path": null}], "replace": true}``; ``path`` limits a rule to
request paths containing that text (e.g. ``"/api/token"`` or ``"/v1/search"``).
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass
from typing import Any

APIS = ("x", "spotify", "reccobeats", "mastodon", "bluesky")
MODES = ("429", "429long", "slow", "drop", "malformed", "truncated")
DEFAULT_PARAM = {"429": 2.0, "429long": 20000.0, "slow": 2.0}


class FaultSpecError(ValueError):
    """A fault rule that cannot be understood; the message names the part that is wrong."""


@dataclass
class FaultRule:
    api: str
    mode: str
    probability: float = 1.0
    count: int | None = None  # remaining triggers; None = unlimited
    param: float | None = None  # seconds for 429/429long/slow
    path: str | None = None

    def __post_init__(self) -> None:
        if self.api not in (*APIS, "*"):
            raise FaultSpecError(f"unknown api '{self.api}' (one of {', '.join(APIS)} or *)")
        if self.mode not in MODES:
            try:
                status = int(self.mode)
            except ValueError:
                raise FaultSpecError(
                    f"unknown fault mode '{self.mode}' (one of {', '.join(MODES)} or an HTTP status)"
                ) from None
            if not 400 <= status <= 599:
                raise FaultSpecError(f"fault status {status} is not an HTTP error status")
        if not 0.0 <= self.probability <= 1.0:
            raise FaultSpecError(f"probability {self.probability} is not between 0 and 1")
        if self.count is not None and self.count < 0:
            raise FaultSpecError(f"count {self.count} is negative")

    @property
    def seconds(self) -> float:
        return self.param if self.param is not None else DEFAULT_PARAM.get(self.mode, 0.0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, obj: Any) -> FaultRule:
        if not isinstance(obj, dict):
            raise FaultSpecError("a fault rule must be a JSON object")
        unknown = set(obj) - {"api", "mode", "probability", "count", "param", "path"}
        if unknown:
            raise FaultSpecError(f"unknown fault rule field(s): {', '.join(sorted(unknown))}")
        try:
            return cls(
                api=str(obj["api"]),
                mode=str(obj["mode"]),
                probability=float(obj.get("probability", 1.0)),
                count=None if obj.get("count") is None else int(obj["count"]),
                param=None if obj.get("param") is None else float(obj["param"]),
                path=None if obj.get("path") is None else str(obj["path"]),
            )
        except KeyError as exc:
            raise FaultSpecError(f"a fault rule needs '{exc.args[0]}'") from None
        except (TypeError, ValueError) as exc:
            if isinstance(exc, FaultSpecError):
                raise
            raise FaultSpecError(f"bad fault rule {obj}: {exc}") from None


def parse_fault_spec(spec: str) -> list[FaultRule]:
    """Rules from the ``SANDBOX_FAULTS`` syntax (see the module docstring)."""
    rules: list[FaultRule] = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        parts = item.split(":")
        if len(parts) not in (2, 3):
            raise FaultSpecError(f"fault '{item}' is not api:mode[:when]")
        api, mode_part = parts[0].strip(), parts[1].strip()
        mode, _, param_text = mode_part.partition("=")
        param = None
        if param_text:
            try:
                param = float(param_text)
            except ValueError:
                raise FaultSpecError(f"fault '{item}': '{param_text}' is not a number of seconds") from None
        probability, count = 1.0, None
        if len(parts) == 3:
            when = parts[2].strip()
            try:
                if when[:1] in ("n", "x"):
                    count = int(when[1:])
                else:
                    probability = float(when)
            except ValueError:
                raise FaultSpecError(f"fault '{item}': '{when}' is neither a probability nor nN") from None
        rules.append(FaultRule(api=api, mode=mode, probability=probability, count=count, param=param))
    return rules


class FaultSet:
    """The active rules; ``pick`` decides (seeded, so a run is reproducible) which one fires."""

    def __init__(self, seed: int = 0) -> None:
        self._rules: list[FaultRule] = []
        self._rng = random.Random(f"nowplaying-faults:{seed}")
        self._lock = threading.Lock()
        self.fired: dict[str, int] = {}

    def set(self, rules: list[FaultRule], replace: bool = True) -> None:
        with self._lock:
            self._rules = list(rules) if replace else [*self._rules, *rules]

    def clear(self) -> None:
        with self._lock:
            self._rules = []
            self.fired = {}

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def pick(self, api: str, path: str) -> FaultRule | None:
        with self._lock:
            for rule in self._rules:
                if rule.api not in (api, "*"):
                    continue
                if rule.path and rule.path not in path:
                    continue
                if rule.count is not None and rule.count <= 0:
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                if rule.count is not None:
                    rule.count -= 1
                key = f"{api}:{rule.mode}"
                self.fired[key] = self.fired.get(key, 0) + 1
                return rule
            return None
