"""``make dev``: the Dagster webserver and daemon on one code location, stopped together by one Ctrl-C or SIGTERM.

``dagster dev`` prints a SupersessionWarning and, stopped by a signal, left its webserver, daemon and code
servers running for over a minute here. This launcher starts ``dagster-webserver`` and ``dagster-daemon run``
(the two processes ``dagster dev`` runs) in a process group of their own; the first SIGINT or SIGTERM (or
either process exiting) sends SIGTERM to the whole group, code servers included, and SIGKILL to whatever is
left after :data:`GRACE_SECONDS`.

    python -m ici_assets.dev.devserver [-w workspace.yaml | -f defs.py] [-h 127.0.0.1] [-p 3000] [--no-daemon]

``--no-daemon`` serves the webserver alone: runs launched through it start at once with the
DefaultRunCoordinator (``make demo``), but schedules, sensors and queued runs need the daemon.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

#: How long the group has to exit after SIGTERM before it is killed.
GRACE_SECONDS = 3.0


def _script(name: str) -> str:
    """A console script installed beside this Python (the venv need not be activated)."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else name


def group_alive(pgid: int) -> bool:
    """Whether any process of the group still exists (zombies of ours are reaped first)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_group(pgid: int, procs: list[subprocess.Popen], grace: float = GRACE_SECONDS) -> None:
    """SIGTERM to every process of the group, then SIGKILL to what is left after ``grace`` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            for p in procs:
                p.poll()
            if not group_alive(pgid):
                return
            time.sleep(0.1)


def serve(location: list[str], host: str, port: int, daemon: bool = True) -> int:
    """Run webserver and daemon (``daemon``) until a signal arrives or one of them exits; return its exit
    status."""
    from ici_assets.dev.cli import ensure_dagster_home

    home = ensure_dagster_home()
    print(f"Dagster UI on http://{host}:{port} (DAGSTER_HOME={home}); Ctrl-C stops it", flush=True)
    stop: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        stop.append(signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    web = subprocess.Popen([_script("dagster-webserver"), *location, "-h", host, "-p", str(port)], process_group=0)
    procs = [web]
    try:
        if daemon:
            procs.append(subprocess.Popen([_script("dagster-daemon"), "run", *location], process_group=web.pid))
        while not stop and all(p.poll() is None for p in procs):
            time.sleep(0.2)
    finally:
        stop_group(web.pid, procs)
    if stop:
        return 128 + stop[0] if stop[0] != signal.SIGINT else 0
    return next((p.returncode for p in procs if p.returncode), 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ici_assets.dev.devserver", description=__doc__, add_help=False)
    parser.add_argument("--help", action="help")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("-w", "--workspace", default=None, help="workspace.yaml (default)")
    where.add_argument("-f", "--python-file", default=None, help="a definitions file")
    parser.add_argument("-h", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=3000)
    parser.add_argument("--no-daemon", action="store_true", help="the webserver alone (no schedules or queue)")
    args = parser.parse_args(argv)
    location = ["-f", args.python_file] if args.python_file else ["-w", args.workspace or "workspace.yaml"]
    return serve(location, args.host, args.port, daemon=not args.no_daemon)


if __name__ == "__main__":
    sys.exit(main())
