"""Text from a build stream reaches no terminal with a control sequence in it: an OSC 52
(clipboard), an OSC 0 (window title) and an ESC[2J (clear screen) in a RUN line, in a vertex's
error and in buildx's own text, through every output mode, the history and `why`. A lone
surrogate in a name is shown, never a crash."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

RunMab = Callable[..., int]

OSC52 = "\x1b]52;c;cm0gLXJmIH4K\x07"
OSC0 = "\x1b]0;pwned\x1b\\"
CLEAR = "\x1b[2J"
HOSTILE = f"{OSC52}{OSC0}{CLEAR}\x9b2J\x07\ud800"
T = "2026-11-30T09:33:19.{:09d}Z"
RUN = "sha256:" + "a" * 64
FROM = "sha256:" + "b" * 64


def hostile_stream(*, failed: bool) -> bytes:
    name = f"[linux/amd64 2/2] RUN echo {HOSTILE}"
    objects: list[dict[str, object]] = [
        {"vertexes": [{"digest": FROM, "name": f"[linux/amd64 1/2] FROM base{HOSTILE}"}]},
        {
            "vertexes": [
                {
                    "digest": FROM,
                    "name": f"[linux/amd64 1/2] FROM base{HOSTILE}",
                    "started": T.format(1),
                    "completed": T.format(2),
                    "cached": True,
                }
            ]
        },
        {"vertexes": [{"digest": RUN, "name": name, "inputs": [FROM], "started": T.format(3)}]},
        {
            "logs": [
                {
                    "vertex": RUN,
                    "stream": 1,
                    "timestamp": T.format(4),
                    "data": base64.b64encode(
                        f"out {HOSTILE}\n".encode("utf-8", "surrogatepass")
                    ).decode(),
                }
            ]
        },
    ]
    done: dict[str, object] = {
        "digest": RUN,
        "name": name,
        "inputs": [FROM],
        "started": T.format(3),
        "completed": T.format(5),
    }
    if failed:
        done["error"] = f"process did not complete {HOSTILE}: exit code: 1"
    objects.append({"vertexes": [done]})
    text = "\n".join(json.dumps(o) for o in objects) + "\n"
    if failed:
        text += f"ERROR: failed to solve: {HOSTILE}\n"
    return text.encode("utf-8", "surrogatepass")


def assert_clean(text: str, *, own: str = "") -> None:
    """No control sequence but mab's own (`own`, a pattern of what mab writes itself)."""
    if own:
        text = re.sub(own, "", text)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]", text), ascii(text)


@pytest.fixture(params=[False, True], ids=["succeeded", "failed"])
def stream(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    path = tmp_path / "hostile.rawjson"
    path.write_bytes(b"# mab platforms: linux/amd64\n" + hostile_stream(failed=request.param))
    return path


@pytest.mark.parametrize(
    "args",
    [("--no-tui",), ("--speed", "1000", "--json"), ("--json",)],
    ids=["plain", "json-progress", "json"],
)
def test_replay_modes_show_no_control_sequence(
    stream: Path, args: tuple[str, ...], capfd: pytest.CaptureFixture[str], run_mab: RunMab
) -> None:
    run_mab("replay", str(stream), *args)
    out, err = capfd.readouterr()
    assert "RUN echo" in out + err or "--json" in args
    assert_clean(out)
    assert_clean(err)


@pytest.mark.parametrize("provider", ["GITHUB_ACTIONS", "GITLAB_CI"])
def test_ci_replay_shows_no_control_sequence(
    stream: Path,
    provider: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    run_mab: RunMab,
) -> None:
    for name in ("GITHUB_ACTIONS", "GITLAB_CI", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(provider, "true")
    monkeypatch.setenv("MAB_REPORT_DIR", str(tmp_path / "report"))
    run_mab("replay", str(stream), "--ci")
    out, err = capfd.readouterr()
    assert "RUN echo" in out
    # GitLab's collapsible sections are mab's own: ESC[0K section_start:…\r ESC[0K
    marker = r"\x1b\[0Ksection_(start|end):\d+:[a-z0-9_.-]+(\[collapsed=true\])?\r\x1b\[0K"
    assert_clean(out, own=marker)
    assert_clean(err)


def test_history_show_and_why_show_no_control_sequence(
    stream: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str], run_mab: RunMab
) -> None:
    history = str(tmp_path / "history.sqlite3")
    assert run_mab("history", "import", str(stream), "--history", history) == 0
    run_mab("history", "--history", history)
    run_mab("history", "show", "1", "--history", history)
    run_mab("why", "--history", history)
    run_mab("why", "--json", "--history", history)
    out, err = capfd.readouterr()
    assert "RUN echo" in out
    assert_clean(out)
    assert_clean(err)
