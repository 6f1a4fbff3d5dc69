"""Print the README's configuration table from the Settings object (keeps docs and code in step)."""

from __future__ import annotations

from pathlib import Path

from nowplaying.common.config import PROJECT_ROOT, Settings


def table() -> str:
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for name, info in Settings.model_fields.items():
        default = info.default
        if isinstance(default, Path):
            try:
                default = "./" + str(default.relative_to(PROJECT_ROOT))
            except ValueError:
                default = str(default).replace(str(Path.home()), "~")
        shown = "" if default is None else str(default)
        lines.append(f"| `{name.upper()}` | `{shown}` | {info.description or ''} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
