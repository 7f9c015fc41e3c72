"""`make run`: the web app on 127.0.0.1:5000 plus a Celery worker with beat beside it on the
embedded broker. One Ctrl-C stops everything."""

from __future__ import annotations

import os
import signal
import subprocess
import sys


def main() -> int:
    env = dict(os.environ)
    python = sys.executable
    worker = subprocess.Popen(
        [python, "-m", "celery", "-A", "grants.worker", "worker", "-B", "--loglevel=INFO", "--concurrency=1",
         "--schedule", os.path.join(env.get("GRANTS_INSTANCE_DIR", "instance"), "celerybeat-schedule")],
        env=env,
    )  # fmt: skip
    web = subprocess.Popen(
        [python, "-m", "flask", "--app", "grants", "run", "--host", "127.0.0.1", "--port", env.get("PORT", "5000")],
        env=env,
    )
    children = (web, worker)
    try:
        while all(child.poll() is None for child in children):
            try:
                web.wait(timeout=1)
            except subprocess.TimeoutExpired:
                continue
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
