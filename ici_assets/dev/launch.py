"""Runs launched through a code location, as the Dagster UI launches them (``make demo``).

Runs executed in process (``execute_in_process``) carry no code-location origin: the UI's Overview and
job pages do not list them and Re-execute warns. :class:`CodeLocationServer` starts the dev server
(:mod:`ici_assets.dev.devserver`: webserver, and daemon unless ``daemon=False``) on a workspace, submits
each run over the webserver's GraphQL API (the instance's run coordinator starts it in a process of its own:
at once with the DefaultRunCoordinator, through the daemon's queue with the QueuedRunCoordinator) and waits
for it; leaving the ``with`` block stops every process the server started.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LAUNCH = """mutation Launch($params: ExecutionParams!) { launchPipelineExecution(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  ... on RunConfigValidationInvalid { errors { message } } ... on PipelineNotFoundError { message } } }"""
STATUS = """query Status($runId: ID!) { runOrError(runId: $runId) { __typename ... on Run { status } } }"""
LOCATIONS = """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on RepositoryLocation { repositories { name } } ... on PythonError { message } }
} } } }"""
DONE = {"SUCCESS", "FAILURE", "CANCELED"}


@dataclass(frozen=True)
class LaunchedRun:
    """A finished run: its id, job and final status (SUCCESS, FAILURE or CANCELED)."""

    run_id: str
    job: str
    status: str

    @property
    def success(self) -> bool:
        return self.status == "SUCCESS"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class CodeLocationServer:
    """The dev server on one code location (``-w workspace.yaml`` or ``-f defs.py``), on a free loopback port,
    for the ``with`` block. ``env``: its environment (default: this process's); ``log``: a file for its output
    (default: this process's stdout); ``daemon=False``: the webserver alone (the instance must then start runs
    when they are launched: DefaultRunCoordinator)."""

    def __init__(
        self,
        *location: str,
        cwd: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        start_timeout: float = 180.0,
        log: Any = None,
        daemon: bool = True,
    ) -> None:
        self.location_args = list(location)
        self.cwd, self.env = cwd, dict(env) if env is not None else None
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.start_timeout = start_timeout
        self.log = log
        self.daemon = daemon
        self.location = self.repository = ""
        self.proc: subprocess.Popen | None = None

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One GraphQL request to the webserver; raises on a GraphQL error."""
        body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
        request = urllib.request.Request(
            f"{self.base}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
        if answer.get("errors"):
            raise RuntimeError(f"Dagster GraphQL error: {answer['errors']}")
        return answer["data"]

    def __enter__(self) -> CodeLocationServer:
        command = [sys.executable, "-m", "ici_assets.dev.devserver", *self.location_args, "-p", str(self.port)]
        command += [] if self.daemon else ["--no-daemon"]
        self.proc = subprocess.Popen(
            command, cwd=self.cwd, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            self._wait_loaded()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_loaded(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the Dagster dev server exited with {self.proc.returncode} before it answered")
            try:
                (entry,) = self.graphql(LOCATIONS)["workspaceOrError"]["locationEntries"]
                if entry["loadStatus"] == "LOADED":
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError, KeyError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the Dagster dev server ({' '.join(self.location_args)}) did not load in {self.start_timeout} s"
                )
            time.sleep(0.5)
        loaded = entry["locationOrLoadError"]
        if loaded["__typename"] != "RepositoryLocation":
            raise RuntimeError(f"code location {entry['name']} failed to load: {loaded.get('message')}")
        self.location, self.repository = entry["name"], loaded["repositories"][0]["name"]

    def launch(
        self,
        job: str,
        run_config: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        asset_selection: Sequence[Sequence[str]] | None = None,
    ) -> str:
        """Submit a run of ``job`` (only the assets of ``asset_selection``, as key paths, when given) to the
        instance, as the UI's Launch and Materialize buttons do; return its id."""
        selector: dict[str, Any] = {
            "repositoryLocationName": self.location,
            "repositoryName": self.repository,
            "jobName": job,
        }
        if asset_selection is not None:
            selector["assetSelection"] = [{"path": list(path)} for path in asset_selection]
        params = {
            "selector": selector,
            "runConfigData": dict(run_config or {}),
            "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]},
        }
        result = self.graphql(LAUNCH, {"params": params})["launchPipelineExecution"]
        if result["__typename"] != "LaunchRunSuccess":
            raise RuntimeError(f"launching {job} failed: {result}")
        return str(result["run"]["runId"])

    def wait(self, run_id: str, job: str = "", timeout: float = 3600.0) -> LaunchedRun:
        """Poll the run until it is finished (or ``timeout`` seconds pass: TimeoutError)."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.graphql(STATUS, {"runId": run_id})["runOrError"].get("status")
            if status in DONE:
                return LaunchedRun(run_id, job, status)
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} of {job} still {status} after {timeout} s")
            time.sleep(1.0)

    def run(
        self,
        job: str,
        run_config: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        timeout: float = 3600.0,
        asset_selection: Sequence[Sequence[str]] | None = None,
    ) -> LaunchedRun:
        """Launch a run of ``job`` (of its assets in ``asset_selection``, when given) and wait for it."""
        return self.wait(self.launch(job, run_config, tags, asset_selection), job, timeout)

    def __exit__(self, *_: object) -> None:
        """SIGTERM to the dev server (it stops its whole group), SIGKILL to the group if it is still there."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def launch_all(
    server: CodeLocationServer,
    defs: Any,
    instance: Any,
    *,
    first_job: str,
    run_config: Mapping[str, Any] | None = None,
    partitions: bool = True,
    last_job: str | None = None,
    log: Any = print,
) -> list[LaunchedRun]:
    """Through the code location, as the UI launches them: ``first_job`` (the demo's ``ici_demo``), then, if it
    succeeded, every partition of each partitioned job in one run per job, those runs launched together (their
    processes start side by side; their steps take turns in the instance's pools), then ``last_job`` if every run
    succeeded (the demo's reports, which read what the partitions published).

    Launching them while the first run still computes (once it has built what they read) was measured slower
    here: every step then waits for the one-writer pool slot, and a waiting step polls for it."""
    from ici_assets.dev.runner import partition_jobs, range_tags

    run_config = dict(run_config or {})
    results = [server.run(first_job, run_config)]
    if not results[-1].success or not partitions:
        return results
    part_config = {k: v for k, v in run_config.items() if k == "loggers"}
    launched = []
    for job in partition_jobs(defs):
        assert job.partitions_def is not None
        keys = job.partitions_def.get_partition_keys(dynamic_partitions_store=instance)
        log(f"{job.name}: {len(keys)} partitions in one run")
        launched.append((job.name, server.launch(job.name, part_config, range_tags(keys))))
    results += [server.wait(run_id, job) for job, run_id in launched]
    if last_job is not None and all(r.success for r in results):
        results.append(server.run(last_job, run_config))
    return results
