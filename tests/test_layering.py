"""Dependencies point one way, so that each app can be read from the bottom up."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = {"sellers", "orders", "wallet", "cashback", "fees"}
# `core` holds helpers every app may use; it imports no app itself.
ALLOWED = {
    "core": set(),
    "sellers": {"core"},
    "orders": {"core", "sellers"},
    "wallet": {"core", "sellers"},
    "cashback": {"core", "sellers", "orders", "wallet"},
    "fees": {"core", "sellers", "orders", "cashback"},
}


def imported_apps(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & (APPS | {"config", "core", "bench"})
    return found


@pytest.mark.parametrize("app", sorted(ALLOWED))
def test_an_app_imports_only_the_apps_it_stands_on(app):
    offences = {
        str(path.relative_to(ROOT)): sorted(imported - ALLOWED[app] - {app})
        for path in (ROOT / app).rglob("*.py")
        if (imported := imported_apps(path)) - ALLOWED[app] - {app}
    }
    assert offences == {}


def test_the_check_sees_an_offence(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from fees.services import x\nimport cashback.models\nimport bench.runner\n")
    assert imported_apps(bad) == {"fees", "cashback", "bench"}
