"""mab.progress.ci (pure) and the reports `mab build --ci` writes, without an engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mab.commands.build_ci import ci_request
from mab.engine.buildcmd import BuildRequest
from mab.errors import UserError
from mab.progress import ci
from mab.run.ci import report
from tests.actions.cases import cache_heavy, failure, success
from tests.actions.harness import read_file_commands


class TestDetect:
    def test_github(self, tmp_path: Path) -> None:
        env = ci.detect(
            {
                "GITHUB_ACTIONS": "true",
                "GITHUB_OUTPUT": "/w/out",
                "GITHUB_STEP_SUMMARY": "/w/sum",
                "RUNNER_TEMP": "/w/tmp",
            }
        )
        assert env == ci.CiEnv("github", Path("/w/out"), Path("/w/sum"), Path("/w/tmp/mab-report"))

    def test_gitlab_reports_inside_the_project(self) -> None:
        env = ci.detect({"GITLAB_CI": "true", "CI_PROJECT_DIR": "/builds/acme/app"})
        assert env.gitlab
        assert env.report_dir == Path("/builds/acme/app/mab-report")
        assert env.output_file is None and env.summary_file is None

    def test_neither(self) -> None:
        assert ci.detect({"CI": "true"}).provider is None

    def test_report_dir_override(self) -> None:
        env = ci.detect({"GITLAB_CI": "true", "MAB_REPORT_DIR": "out"})
        assert env.report_dir == Path("out")

    def test_the_html_report_is_linked_where_the_ci_keeps_it(self) -> None:
        github = {"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com"}
        github |= {"GITHUB_REPOSITORY": "acme/app", "GITHUB_RUN_ID": "42"}
        url = "https://github.com/acme/app/actions/runs/42#artifacts"
        assert ci.detect(github).report_url == url
        assert ci.detect({**github, "GITHUB_RUN_ID": "4;2"}).report_url is None
        gitlab = {"GITLAB_CI": "true", "CI_PROJECT_DIR": "/b/app", "CI_JOB_URL": "https://g/j/7"}
        file = "https://g/j/7/artifacts/file/mab-report/report.html"
        assert ci.detect(gitlab).report_url == file
        moved = {**gitlab, "MAB_REPORT_DIR": "/tmp/elsewhere"}
        assert ci.detect(moved).report_url is None  # not an artifact of the job: no link
        summary = ci.step_summary(success(), "r/app", url)
        assert f"`report.html` in [the artifacts]({url})" in summary
        assert "report.html" not in ci.step_summary(success(), "r/app")


class TestWorkflowCommands:
    def test_group_titles_are_escaped(self) -> None:
        assert ci.group_start("50% hits\nnext") == "::group::50%25 hits%0Anext"
        assert ci.group_end() == "::endgroup::"

    def test_error_annotation(self) -> None:
        line = ci.error_annotation("mab: build, failed", "a\nb")
        assert line == "::error title=mab%3A build%2C failed::a%0Ab"

    def test_stop_and_resume_use_an_unguessable_token(self) -> None:
        a, b = ci.new_token(), ci.new_token()
        assert a != b and len(a) > 30
        assert ci.stop_commands(a) == f"::stop-commands::{a}"
        assert ci.resume_commands(a) == f"::{a}::"


class TestGitLabSections:
    def test_start_and_end(self) -> None:
        name = ci.section_name("Build linux/amd64, linux/arm64")
        assert name == "build_linux_amd64_linux_arm64"
        start = ci.section_start(name, "Build linux/amd64,\nlinux/arm64", 1700000000)
        assert start == (
            "\x1b[0Ksection_start:1700000000:build_linux_amd64_linux_arm64[collapsed=true]"
            "\r\x1b[0KBuild linux/amd64, linux/arm64"
        )
        assert ci.section_end(name, 1700000009) == (
            "\x1b[0Ksection_end:1700000009:build_linux_amd64_linux_arm64\r\x1b[0K"
        )

    def test_names_are_never_empty(self) -> None:
        assert ci.section_name("%%%") == "mab"


class TestOutputs:
    def test_entry_round_trips_through_a_runner_parser(self) -> None:
        value = 'line one\nname<<EOF\n{"linux/amd64":1.0}'
        text = ci.output_entry("hit-ratio", value) + ci.output_entry("digest", "sha256:ab")
        assert read_file_commands(text) == {"hit-ratio": value, "digest": "sha256:ab"}

    def test_delimiter_never_occurs_in_the_value(self) -> None:
        value = "ghadelimiter_x"
        delimiter = ci.new_delimiter(value)
        assert delimiter not in value
        with pytest.raises(ValueError):
            ci.output_entry("x", "a ghadelimiter_1 b", "ghadelimiter_1")

    def test_bad_name(self) -> None:
        with pytest.raises(ValueError):
            ci.output_entry("a=b", "v")

    def test_outputs_from_a_summary(self) -> None:
        out = ci.outputs(cache_heavy(), "sha256:ab", "r/app@sha256:ab", Path("/t/summary.json"))
        assert out == {
            "digest": "sha256:ab",
            "image": "r/app@sha256:ab",
            "hit-ratio": '{"linux/amd64":0.5,"linux/arm64":0.5}',
            "summary-path": "/t/summary.json",
            "status": "succeeded",
            "report-path": "",
        }


class TestBuildResults:
    def test_digest_from_metadata(self) -> None:
        meta = {"containerimage.digest": "sha256:" + "a" * 64, "image.name": "r/app:1"}
        assert ci.read_digest(json.dumps(meta)) == "sha256:" + "a" * 64
        assert ci.read_digest("{}") is None
        assert ci.read_digest("not json") is None

    def test_built_reference(self) -> None:
        meta = {"containerimage.digest": "sha256:ab", "image.name": "r/app:1,r/app:latest"}
        assert ci.built_reference(json.dumps(meta), ()) == ("sha256:ab", "r/app@sha256:ab")
        by_digest = {"containerimage.digest": "sha256:ab", "image.name": "r/app"}
        assert ci.built_reference(json.dumps(by_digest), ()) == ("sha256:ab", "r/app@sha256:ab")
        assert ci.built_reference("", ("r/app:1",)) == (None, "r/app:1")

    def test_image_reference(self) -> None:
        assert ci.image_reference(None, ("r:5000/app:1",), "sha256:ab") == "r:5000/app@sha256:ab"
        assert ci.image_reference("r/app", (), "sha256:ab") == "r/app@sha256:ab"
        assert ci.image_reference(None, ("r/app:1",), None) == "r/app:1"
        assert ci.image_reference(None, (), None) == ""

    def test_short_instruction(self) -> None:
        assert ci.short_instruction("RUN a   \\\n   b") == "RUN a \\ b"
        assert ci.short_instruction("x" * 100, 10) == "x" * 9 + "…"

    def test_platform_title(self) -> None:
        arm = failure().platforms[1]
        assert ci.platform_title(arm) == (
            "linux/arm64: 8 steps, 5 cached, 2 executed (62% hits) in 6.5s, 1 failed"
        )


class TestCachePlan:
    def test_registry_per_platform(self) -> None:
        plan = ci.cache_plan("registry", "r/app", ("linux/amd64", "linux/arm64"))
        assert plan.cache_from == (
            "type=registry,ref=r/app:buildcache-linux-amd64",
            "type=registry,ref=r/app:buildcache-linux-arm64",
        )
        assert [p for p, _ in plan.exports] == ["linux/amd64", "linux/arm64"]
        assert plan.exports[1][1].startswith("type=registry,ref=r/app:buildcache-linux-arm64,")
        assert "image-manifest=true" in plan.exports[1][1]

    def test_gha_scopes(self) -> None:
        plan = ci.cache_plan("gha", "app", ("linux/arm64",))
        assert plan.cache_from == ("type=gha,scope=app-linux-arm64",)

    def test_none(self) -> None:
        assert ci.cache_plan("none", "", ("linux/amd64",)) == ci.CachePlan((), ())

    def test_mistakes_are_user_errors(self) -> None:
        with pytest.raises(UserError, match="prefix"):
            ci.cache_plan("registry", "", ("linux/amd64",))
        with pytest.raises(UserError, match="expected one of"):
            ci.cache_plan("s4", "x", ("linux/amd64",))

    def test_one_platform_exports_in_the_build(self) -> None:
        req, plan = ci_request(BuildRequest(platforms=("linux/amd64",)), None, "r/app", False)
        assert req.cache_to is not None and "buildcache-linux-amd64" in req.cache_to
        assert plan is not None and plan.exports == ()

    def test_several_platforms_export_afterwards(self) -> None:
        req = BuildRequest(platforms=("linux/amd64", "linux/arm64"))
        req, plan = ci_request(req, "registry", "r/app", False)
        assert req.cache_to is None and len(req.cache_from) == 2
        assert plan is not None and len(plan.exports) == 2

    def test_read_only_writes_nothing(self) -> None:
        req = BuildRequest(platforms=("linux/amd64",))
        req, plan = ci_request(req, "registry", "r/app", True)
        assert req.cache_to is None and plan is not None and plan.exports == ()

    def test_prefix_and_explicit_specs_conflict(self) -> None:
        req = BuildRequest(platforms=("linux/amd64",), cache_from=("type=local,src=x",))
        with pytest.raises(UserError):
            ci_request(req, None, "r/app", False)


def test_github_report_writes_summary_outputs_and_files(tmp_path: Path) -> None:
    env = ci.CiEnv("github", tmp_path / "out", tmp_path / "sum", tmp_path / "report")
    (tmp_path / "sum").write_text("earlier step\n", encoding="utf-8")
    path = report(env, failure(), None, "")
    assert json.loads(path.read_text(encoding="utf-8"))["status"] == "failed"
    summary = (tmp_path / "sum").read_text(encoding="utf-8")
    assert summary.startswith("earlier step\n## mab build")
    assert "**Failed step:**" in summary
    outputs = read_file_commands((tmp_path / "out").read_text(encoding="utf-8"))
    assert outputs["status"] == "failed" and outputs["digest"] == ""
    assert outputs["summary-path"] == str(path.resolve())
    assert (tmp_path / "report" / ci.METRICS_FILE).is_file()


def test_gitlab_report_writes_artifacts_only(tmp_path: Path) -> None:
    env = ci.CiEnv("gitlab", report_dir=tmp_path / "mab-report")
    report(env, success(), "sha256:ab", "r/app@sha256:ab")
    names = sorted(p.name for p in (tmp_path / "mab-report").iterdir())
    assert names == [ci.METRICS_FILE, ci.SUMMARY_JSON, ci.SUMMARY_MARKDOWN]
    metrics = (tmp_path / "mab-report" / ci.METRICS_FILE).read_text(encoding="utf-8")
    assert 'mab_cache_hit_ratio{platform="linux/arm64"} 0.0' in metrics.splitlines()
    assert metrics.endswith("# EOF\n")
