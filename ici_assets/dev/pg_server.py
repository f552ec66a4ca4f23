"""A private PostgreSQL server for the demo and the tests, from the distribution's packages.

It runs from its own data folder, listens on 127.0.0.1 only (on a free port), and holds a login
role and database ``ici`` (password ``ici``) besides the ``postgres`` superuser (password
``postgres``). As root it runs as the ``postgres`` system user that Debian's package creates
(PostgreSQL refuses to run as root). Install the server with ``apt-get install -y postgresql``
(``make postgres-server`` does when it is missing); Debian keeps ``initdb`` and ``pg_ctl`` in
``/usr/lib/postgresql/<version>/bin``, not on PATH.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

USER = PASSWORD = DATABASE = "ici"
ADMIN_USER = ADMIN_PASSWORD = "postgres"
SYSTEM_USER = "postgres"  # the account the server runs as when we are root


def bin_dir() -> Path | None:
    """The folder with ``initdb`` and ``pg_ctl``: the newest ``/usr/lib/postgresql/*/bin``, else PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user() -> dict:
    """subprocess arguments that drop root to the postgres system user (nothing when not root)."""
    if os.geteuid() != 0:
        return {}
    try:
        account = pwd.getpwnam(SYSTEM_USER)
    except KeyError as exc:
        raise RuntimeError(
            f"PostgreSQL will not run as root and there is no '{SYSTEM_USER}' user: install the server with "
            "`apt-get install -y postgresql` (it creates that user)."
        ) from exc
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": [], "env": {**os.environ, "HOME": "/"}}


def _chown_to_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        account = pwd.getpwnam(SYSTEM_USER)
        for p in [path, *path.rglob("*")]:
            os.chown(p, account.pw_uid, account.pw_gid)


@dataclass
class LocalPostgres:
    """A server whose files live under ``root`` (data folder ``root/data``, log ``root/server.log``)."""

    root: Path
    port: int = 0
    fast: bool = False  # no fsync: for throwaway test servers

    @property
    def data(self) -> Path:
        return self.root / "data"

    def env(self, database: str = DATABASE) -> dict[str, str]:
        """The libpq variables the demo's dbt profile reads (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE)."""
        return {
            "PGHOST": "127.0.0.1",
            "PGPORT": str(self.port),
            "PGUSER": USER,
            "PGPASSWORD": PASSWORD,
            "PGDATABASE": database,
        }

    def admin_conninfo(self, database: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={ADMIN_USER} password={ADMIN_PASSWORD} dbname={database}"

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        binaries = bin_dir()
        if binaries is None:
            raise RuntimeError(
                "No PostgreSQL server binaries (initdb, pg_ctl): install them with `apt-get install -y postgresql` "
                "(`make postgres-server`), or set PGHOST & co. to a server of yours."
            )
        cmd = [str(binaries / args[0]), *args[1:]]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd="/", **_as_server_user())
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()}\n{tail}")
        return done

    def running(self) -> bool:
        if not (self.data / "postmaster.pid").exists():
            return False
        binaries = bin_dir()
        cmd = [str(binaries / "pg_ctl"), "status", "-D", str(self.data)] if binaries else ["false"]
        return subprocess.run(cmd, capture_output=True, cwd="/", **_as_server_user()).returncode == 0

    def start(self) -> LocalPostgres:
        """Create the cluster on first use, start it (if it is not running) and create role and database."""
        self.root.mkdir(parents=True, exist_ok=True)
        if not server_may_use(self.root):
            raise RuntimeError(
                f"The '{SYSTEM_USER}' account the server runs as cannot reach {self.root} (a parent folder is private "
                "to root): put the server's folder elsewhere, e.g. under the temp folder."
            )
        port_file = self.root / "port"
        if self.running() and port_file.exists():
            self.port = int(port_file.read_text())
            return self
        if not (self.data / "PG_VERSION").exists():
            self._init()
        self.port = self.port or free_port()
        port_file.write_text(str(self.port))
        options = [
            "-c listen_addresses=127.0.0.1",
            f"-c port={self.port}",
            f"-c unix_socket_directories={self.data}",
            *(["-c fsync=off -c synchronous_commit=off -c full_page_writes=off"] if self.fast else []),
        ]
        log = self.root / "server.log"
        log.touch()
        _chown_to_server_user(log)
        self._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), "-l", str(log), "-o", " ".join(options))
        self._create_role_and_database()
        return self

    def _init(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        pwfile = self.root / "pwfile"
        pwfile.write_text(ADMIN_PASSWORD + "\n")
        _chown_to_server_user(self.root)
        self.data.chmod(0o700)
        try:
            self._run(
                "initdb", "-D", str(self.data), "-U", ADMIN_USER, f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C",
                "--auth-local=trust", "--auth-host=scram-sha-256",
            )  # fmt: skip
        finally:
            pwfile.unlink(missing_ok=True)

    def _create_role_and_database(self) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.admin_conninfo(), autocommit=True) as con:
            if not con.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [USER]).fetchone():
                con.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(USER), PASSWORD))
            if not con.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
                create = sql.SQL("CREATE DATABASE {} OWNER {}")
                con.execute(create.format(sql.Identifier(DATABASE), sql.Identifier(USER)))

    def stop(self) -> None:
        if self.running():
            self._run("pg_ctl", "stop", "-m", "fast", "-w", "-D", str(self.data))


def server_may_use(folder: Path) -> bool:
    """Whether the server's account can reach ``folder`` (as root, a folder under /root is out of its reach)."""
    if os.geteuid() != 0:
        return True
    probe = ["test", "-x", str(folder.parent)]
    return subprocess.run(probe, capture_output=True, cwd="/", **_as_server_user()).returncode == 0
