"""The README's first command, as a new user runs it: nothing configured, nothing running."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.processes import ROOT, LoggedProcess

pytestmark = pytest.mark.e2e

# The embedded defaults: no database server, no broker, no test-run switches.
NOT_INHERITED = {"DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_ALLOW_ASYNC_UNSAFE", "DEBUG"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def group_is_gone(proc: subprocess.Popen, timeout: float) -> bool:
    """No process of the command's group is left (its leader reaped, so not a zombie)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        proc.poll()
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def test_start_runs_web_worker_and_beat_with_demo_data(page: Page, tmp_path: Path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env.update(VAR_DIR=str(tmp_path), PORT=str(port))
    base = f"http://127.0.0.1:{port}"

    app = LoggedProcess(["bash", "bin/start"], env=env)
    try:
        app.wait_for(r"login: demo / demo", timeout=300)
        app.wait_for(r"celery@\S+ ready\.", timeout=120)
        app.wait_for(r"beat: Starting\.\.\.", timeout=120)
        app.wait_for(rf"Starting development server at {base}/", timeout=120)
        assert (tmp_path / "cashback-center.sqlite3").exists()

        with urllib.request.urlopen(f"{base}/healthz", timeout=10) as health:  # noqa: S310
            assert health.status == 200

        # The worker consumes what is sent to the broker the app is configured with.
        sent = subprocess.run(
            [
                str(Path(sys.executable).with_name("celery")),
                "-A",
                "config",
                "call",
                "config.tasks.ping",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        task_id = sent.stdout.strip().splitlines()[-1]
        app.wait_for(rf"Task config\.tasks\.ping\[{task_id}\] succeeded", timeout=60)

        page.goto(f"{base}/seller/")
        page.get_by_label("Username").fill("demo")
        page.get_by_label("Password").fill("demo")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_test_id("shop-name")).to_have_text("Demo Shop")
        expect(page.get_by_test_id("account-manager")).to_contain_text("Alex Morgan")
    finally:
        # Stopping the command (not each process) stops web, worker and beat.
        app.proc.send_signal(signal.SIGTERM)
        stopped = group_is_gone(app.proc, timeout=60)
        app.stop(signal.SIGKILL)
    assert stopped, f"processes were left running:\n{app.output[-3000:]}"
