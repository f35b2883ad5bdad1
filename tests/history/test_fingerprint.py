"""Dockerfile steps numbered as BuildKit numbers them, .dockerignore, and source digests."""

from __future__ import annotations

from pathlib import Path

import pytest

from mab.history.dockerignore import DockerIgnore
from mab.history.fingerprint import Fingerprinter
from mab.history.plan import plan_dockerfile
from mab.history.record import (
    BuildRecord,
    RecordError,
    StepInputs,
    StepRecord,
    dumps,
    loads,
    redact,
)

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "tests" / "e2e" / "project"


def test_steps_are_numbered_as_buildkit_names_them() -> None:
    # The names BuildKit gave this Dockerfile's steps: tests/fixtures/streams/single.rawjson
    plan = plan_dockerfile((PROJECT / "Dockerfile").read_text(), {})
    assert [(s.id, s.total, s.keyword) for s in plan.values()] == [
        ("base#1", 2, "FROM"),
        ("base#2", 2, "WORKDIR"),
        ("deps#1", 2, "COPY"),
        ("deps#2", 2, "RUN"),
        ("src#1", 2, "COPY"),
        ("src#2", 2, "RUN"),
        ("final#1", 3, "COPY"),
        ("final#2", 3, "COPY"),
        ("final#3", 3, "RUN"),
    ]
    assert plan["final#1"].parents == ("base#2", "deps#2")
    assert plan["deps#2"].args == (("DEPS_WORK", "120000"),)
    assert plan["deps#1"].args == ()  # a COPY sees an arg only through its text


def test_one_stage_has_no_stage_name_and_unnamed_stages_are_numbered() -> None:
    assert list(plan_dockerfile("FROM a AS x\nRUN b\n", {})) == ["#1", "#2"]
    text = 'FROM a\nRUN b\nFROM a\nCOPY --from=0 /x /x\nENTRYPOINT ["x"]\n'
    plan = plan_dockerfile(text, {})
    assert list(plan) == ["stage-0#1", "stage-0#2", "stage-1#1", "stage-1#2"]
    assert plan["stage-1#2"].parents == ("stage-1#1", "stage-0#2")


def test_build_args_and_secrets() -> None:
    text = "ARG V=1\nFROM a\nARG V\nARG API_TOKEN\nRUN make\n"
    assert plan_dockerfile(text, {})["#2"].args == (("V", "1"),)
    args = dict(plan_dockerfile(text, {"V": "2", "API_TOKEN": "s3cret"})["#2"].args)
    assert args["V"] == "2" and args["API_TOKEN"].startswith("sha256:")
    assert "s3cret" not in repr(args)


def test_an_env_line_changes_the_next_runs_own_digest() -> None:
    a = plan_dockerfile("FROM a\nENV X=1\nRUN make\n", {})["#2"]
    b = plan_dockerfile("FROM a\nENV X=2\nRUN make\n", {})["#2"]
    assert a.own != b.own


@pytest.mark.parametrize(
    ("rules", "path", "excluded"),
    [
        ("*.log", "a.log", True),
        ("*.log", "d/a.log", False),
        ("**/*.log", "d/e/a.log", True),
        ("build", "build/x/y", True),
        ("/build", "build/x", True),
        ("docs\n!docs/keep.md", "docs/keep.md", False),
        ("docs\n!docs/keep.md", "docs/other.md", True),
        ("[ab].txt", "b.txt", True),
        ("# comment", "# comment", False),
    ],
)
def test_dockerignore(rules: str, path: str, excluded: bool) -> None:
    assert DockerIgnore.parse(rules).excluded(path) is excluded


def test_sources_are_hashed_honouring_dockerignore(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("a")
    (tmp_path / "src" / "b.log").write_text("b")
    (tmp_path / "Dockerfile").write_text("FROM x\nCOPY src/ ./src/\nCOPY *.txt ./\n")
    (tmp_path / ".dockerignore").write_text("**/*.log\n")
    (tmp_path / "n.txt").write_text("n")
    first = Fingerprinter(tmp_path, tmp_path / "Dockerfile").inputs("linux/amd64", {})
    assert first["#2"].files == (("src/a.py", first["#2"].files[0][1]),)  # type: ignore[index]
    assert [p for p, _ in first["#3"].files or ()] == ["n.txt"]
    (tmp_path / "src" / "b.log").write_text("ignored change")
    again = Fingerprinter(tmp_path, tmp_path / "Dockerfile").inputs("linux/amd64", {})
    assert again["#2"].digest == first["#2"].digest
    (tmp_path / "src" / "a.py").write_text("edited")
    edited = Fingerprinter(tmp_path, tmp_path / "Dockerfile").inputs("linux/amd64", {})
    assert edited["#2"].files_digest != first["#2"].files_digest
    assert edited["#3"].digest != first["#3"].digest  # the chain carries it


def test_a_moved_base_changes_every_digest() -> None:
    fp = Fingerprinter(PROJECT, PROJECT / "Dockerfile")
    a = fp.inputs("linux/amd64", {"base#1": "busybox:1@sha256:aa"})
    b = fp.inputs("linux/amd64", {"base#1": "busybox:1@sha256:bb"})
    assert all(a[k].digest != b[k].digest for k in a)
    assert a["deps#1"].own == b["deps#1"].own


def test_the_record_codec_round_trips_and_redacts() -> None:
    inputs = StepInputs("d", "o", (("V", "1"),), (("a", "1"),), "fd", 1, ("p#1",), False)
    step = StepRecord("linux/arm64", "s", 2, 3, "RUN x", "ran", 1.5, inputs)
    rec = BuildRecord(
        "u", 1.0, 2.0, "succeeded", "app", ("linux/arm64",), (step,), build_args=(("V", "1"),)
    )
    assert loads(dumps(rec)) == rec
    hidden = redact(rec)
    assert hidden.build_args[0][1].startswith("sha256:")
    assert hidden.steps[0].inputs.args[0][1] == hidden.build_args[0][1]  # type: ignore[union-attr]
    with pytest.raises(RecordError):
        loads(b'{"format": "something else"}')
    with pytest.raises(RecordError):
        loads(b"\xff not json")


def test_unset_variables_expand_to_nothing_as_in_buildkit() -> None:
    text = "ARG G=1\nFROM a\nARG URL=${URL}\nARG X=${G}y\nRUN make\n"
    assert plan_dockerfile(text, {})["#2"].args == (("URL", ""), ("X", "y"))  # G: not redeclared


def test_a_stage_built_on_another_sees_its_args() -> None:
    # BuildKit on the engine here prints `x=[1]` for this Dockerfile: the arg is inherited
    text = "FROM a AS a\nARG X=1\nFROM a AS b\nRUN echo x=[$X]\n"
    assert plan_dockerfile(text, {})["b#1"].args == (("X", "1"),)
