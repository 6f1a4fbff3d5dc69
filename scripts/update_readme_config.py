"""Rewrite the configuration table between the README's config markers."""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from config_table import table

readme = Path(__file__).resolve().parent.parent / "README.md"
text = readme.read_text()
new = re.sub(
    r"<!-- config:start -->.*<!-- config:end -->",
    lambda _: "<!-- config:start -->\n" + table() + "\n<!-- config:end -->",
    text,
    flags=re.S,
)
readme.write_text(new)
print("README configuration table updated")
