"""The decision of a stored explanation in plain words (``GET /api/plays/{source}/{post_id}/explain``).

Derived from the record as stored, so it still explains the decision that was made: how many catalog
candidates its searches returned, and one sentence saying what was decided. A search that found nothing
says so, never "the best candidate scored 0%".
"""

from __future__ import annotations

from typing import Any


def _pct(value: Any) -> str:
    return "—" if value is None else f"{round(float(value) * 100)}%"


def candidates_found(explanation: dict[str, Any]) -> int | None:
    """Catalog candidates the searches made for the decision returned; None unless searches decided it."""
    if (explanation.get("decision") or {}).get("by") != "search":
        return None
    return sum(int(s.get("results") or 0) for s in explanation.get("searches") or [] if s.get("from") != "budget")


def summary(explanation: dict[str, Any]) -> str:
    """The decision in one sentence."""
    decision = explanation.get("decision") or {}
    threshold = _pct(explanation.get("threshold"))
    by = decision.get("by")
    if by == "override":
        return "Matched by a correction." if decision.get("matched") else "Marked as not a song by a correction."
    if decision.get("matched"):
        return f"Matched with confidence {_pct(decision.get('confidence'))}, at or above the threshold of {threshold}."
    if by == "nothing":
        return "Not matched: the post had nothing to search."
    if by in ("cache", "walk_cache"):
        return "Not matched: the match cache held this as unmatched (no search was made)."
    found = candidates_found(explanation)
    if found == 0:
        made = any(s.get("from") != "budget" for s in explanation.get("searches") or [])
        if not made:
            return "Not matched: no search could be made (the post's search budget was spent)."
        return "Not matched: the search found no candidates in the catalog."
    return (
        f"Not matched: the best of the {found} catalog results scored {_pct(decision.get('confidence'))},"
        f" below the threshold of {threshold}."
    )


def with_words(explanation: dict[str, Any]) -> dict[str, Any]:
    """The explanation with ``decision.candidates_found`` and ``decision.summary`` added."""
    decision = dict(explanation.get("decision") or {})
    decision["candidates_found"] = candidates_found(explanation)
    decision["summary"] = summary(explanation)
    return {**explanation, "decision": decision}
