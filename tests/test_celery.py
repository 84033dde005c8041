import sys
import uuid
from pathlib import Path

from config.celery import app
from config.tasks import ping
from tests.processes import LoggedProcess

CELERY = str(Path(sys.executable).with_name("celery"))


def test_tasks_are_json_acknowledged_late_and_bounded_in_time():
    conf = app.conf
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_acks_late is True and conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert 0 < conf.task_soft_time_limit < conf.task_time_limit
    assert conf.timezone == "UTC" and conf.enable_utc is True


def test_a_real_worker_consumes_a_task_from_the_broker():
    # A queue of its own, so that no other worker on the same broker takes the task.
    queue = f"test-{uuid.uuid4().hex[:10]}"
    args = [
        CELERY,
        "-A",
        "config",
        "worker",
        "--pool",
        "solo",
        "-Q",
        queue,
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    with LoggedProcess(args) as worker:
        worker.wait_for(r"ready\.", timeout=60)
        sent = ping.apply_async(queue=queue)
        worker.wait_for(rf"Task config\.tasks\.ping\[{sent.id}\] succeeded .*'pong'", timeout=60)
