from celery import shared_task


@shared_task(name="config.tasks.ping")
def ping() -> str:
    """A no-op that proves a worker consumes the queue.

    `celery -A config call config.tasks.ping`, then look for "succeeded" in the worker's log.
    """
    return "pong"
