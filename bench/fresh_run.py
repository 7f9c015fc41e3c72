"""`make run` on a fresh machine: a copy of the checkout with no virtualenv, no instance folder
and an empty pip cache, timed from `make run` until /calls first answers 200 (target: 90 s).
Takes minutes, so `make bench` runs it only when asked: `python bench/run.py --fresh-run`, or alone
`python bench/fresh_run.py [--clone] [--keep-cache]`.

By default the copy is the working tree as it is (tracked and new files, not ignored ones), so
uncommitted changes to `make run` count; --clone measures a `git clone` of HEAD instead. Packages
come from the index as on a fresh machine (an empty pip cache), unless --keep-cache. The output of
`make run` is kept: the report gives how many lines it printed before serving (visible progress)
and its last lines."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serve import ROOT, free_port  # noqa: E402

TARGET_SECONDS = 90


def copy_tree(target: Path, *, clone: bool) -> str:
    if clone:
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True)
        return "git clone of HEAD"
    target.mkdir(parents=True)
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           check=True, capture_output=True).stdout.split(b"\0")  # fmt: skip
    for name in filter(None, files):
        source = ROOT / name.decode()
        if source.is_file():
            (target / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name.decode())
    return "copy of the working tree (tracked and new files)"


def run(*, clone: bool = False, keep_cache: bool = False, timeout: float = 900) -> dict:
    with tempfile.TemporaryDirectory(prefix="grants-fresh-") as tmp:
        tree = Path(tmp) / "grants"
        how = copy_tree(tree, clone=clone)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GRANTS_", "VIRTUAL_ENV"))}
        env |= {"PORT": str(port), "PYTHONDONTWRITEBYTECODE": "1"}
        if not keep_cache:
            env["PIP_CACHE_DIR"] = str(Path(tmp) / "pip-cache")
        log_path = Path(tmp) / "make-run.log"
        started = time.monotonic()
        with open(log_path, "wb") as log:
            process = subprocess.Popen(["make", "run"], cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)  # fmt: skip
            seconds, status = None, None
            try:
                while time.monotonic() - started < timeout and process.poll() is None:
                    try:
                        with urllib.request.urlopen(f"http://127.0.0.1:{port}/calls", timeout=2) as response:
                            status = response.status
                    except OSError:
                        status = None
                    if status == 200:
                        seconds = round(time.monotonic() - started, 1)
                        break
                    time.sleep(0.5)
            finally:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGINT)  # the group this run started: make, web, worker
                    try:
                        process.wait(timeout=20)
                    except subprocess.TimeoutExpired:
                        os.killpg(process.pid, signal.SIGKILL)
                        process.wait()
        output = log_path.read_text(errors="replace").splitlines()
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "tree": how,
        "pip_cache": "kept" if keep_cache else "empty (as on a fresh machine)",
        "seconds_to_first_200": seconds if seconds is not None else f"no 200 within {timeout:g} s",
        "met": seconds is not None and seconds <= TARGET_SECONDS, "lines_printed": len(output),
        "last_lines": output[-8:],
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clone", action="store_true", help="a git clone of HEAD instead of the working tree")
    parser.add_argument("--keep-cache", action="store_true", help="use the usual pip cache (not a fresh machine)")
    args = parser.parse_args()
    print(json.dumps(run(clone=args.clone, keep_cache=args.keep_cache), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
