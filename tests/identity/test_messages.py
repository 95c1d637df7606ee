"""Every message identity shows has a Persian translation with the same `{fields}`."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from shahr.kernel.web import i18n

IDENTITY = Path(__file__).resolve().parents[2] / "src" / "shahr" / "identity"


def raised_messages(path: Path) -> set[str]:
    """Literal messages given to an `...Error(...)` call anywhere in the module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id.endswith("Error")
            and node.func.id != "ValueError"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
        # The lockout messages are picked by `message = "..." if ... else "..."`.
        if (
            isinstance(node, ast.Assign)
            and [getattr(t, "id", None) for t in node.targets] == ["message"]
            and isinstance(node.value, ast.IfExp)
        ):
            for branch in (node.value.body, node.value.orelse):
                if isinstance(branch, ast.Constant) and isinstance(branch.value, str):
                    found.add(branch.value)
    return found


def template_messages(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    return set(re.findall(r"""_\(\s*["']([^"']+)["']""", text))


MESSAGES = sorted(
    {m for path in IDENTITY.glob("*.py") for m in raised_messages(path)}
    | {m for path in (IDENTITY / "templates").rglob("*.html") for m in template_messages(path)}
    | {"Car", "Van", "Light truck", "Minibus", "Motorcycle"}
)


def test_identity_has_messages_to_translate() -> None:
    assert len(MESSAGES) >= 40


@pytest.mark.parametrize("message", MESSAGES)
def test_every_identity_message_has_a_persian_translation(message: str) -> None:
    translated = i18n.translations("fa").gettext(message)

    assert translated != message
    assert fields(translated) == fields(message)


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}
