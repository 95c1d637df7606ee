"""The house rules on size (STYLE.md): no module in `src/` over 400 lines, no function over 60.

A module past the limit becomes a package split by concept; a function past it, named steps.
"""

from __future__ import annotations

import ast
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src" / "shahr"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _modules() -> list[Path]:
    return sorted(SOURCE.rglob("*.py"))


def test_no_module_passes_four_hundred_lines() -> None:
    long = {
        str(path.relative_to(SOURCE)): lines
        for path in _modules()
        if (lines := path.read_text(encoding="utf-8").count("\n")) > MAX_MODULE_LINES
    }
    assert long == {}


def test_no_function_passes_sixty_lines() -> None:
    long: dict[str, int] = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(SOURCE)}:{node.lineno} {node.name}"] = lines
    assert long == {}


def test_the_rules_see_the_whole_source_tree() -> None:
    # A wrong path would make both checks pass on nothing.
    assert len(_modules()) > 200
