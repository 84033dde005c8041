"""The settings as an operator uses them: from the environment, in a fresh process."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k7#Qz!v2Lr9@xW4p$Nt8&Hb3*Jc6^Md1%Fg5(Ys0)Ue-Ai=Oo+Pl]Rk[Sj{Tn}Vm",
    "ALLOWED_HOSTS": "cashback.example.com",
    "HTTPS_ONLY": "true",
}


# The test run's own switches, which a deployment never has.
NOT_INHERITED = {"DEBUG", "SECRET_KEY", "HTTPS_ONLY", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_the_production_variables():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("variable", "value", "warning"),
    [
        ("HTTPS_ONLY", "false", "security.W004"),
        ("DEBUG", "true", "security.W018"),
        ("SECRET_KEY", "", "security.W009"),
    ],
)
def test_check_deploy_catches_a_missing_production_variable(variable, value, warning):
    env = {**PRODUCTION, variable: value}
    if not value:
        del env[variable]
    result = manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    assert warning in result.stderr


def test_time_zone_and_hosts_come_from_the_environment():
    code = "from django.conf import settings as s; print(s.TIME_ZONE, s.ALLOWED_HOSTS)"
    result = manage(
        "shell",
        "-v",
        "0",
        "-c",
        code,
        TIME_ZONE="Asia/Singapore",
        ALLOWED_HOSTS="a.example,b.example",
    )
    assert result.stdout.strip() == "Asia/Singapore ['a.example', 'b.example']"


def test_defaults_need_no_service(tmp_path):
    code = (
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.TIME_ZONE)"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "TIME_ZONE"}
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", code],
        cwd=ROOT,
        env={**env, "VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.split() == ["django.db.backends.sqlite3", "filesystem://", "UTC"]
