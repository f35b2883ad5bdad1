"""`.mab.yml` read and written: every error branch (each with its line), the round trip that
keeps the user's comments, and the schema comment mab writes on the first line."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from mab.config.distribution import repository_url
from mab.config.file import (
    SCHEMA_COMMENT,
    config_data,
    load_config,
    load_settings,
    parse_config,
    render_config,
    schema_url,
)
from mab.config.settings import GithubSettings, GitlabSettings, ImageSettings, S3Cache, Settings
from mab.errors import EXIT_USAGE, InvalidYamlError, UserError
from mab.files.yamlio import dump_roundtrip

SCHEMA_URL = schema_url(repository_url())
# The declaration's own keys: a new field needs no change here.
TOP_KEYS = ", ".join(sorted(f.encode_name for f in msgspec.structs.fields(Settings)))
PLATFORMS = (
    "linux/386, linux/amd64, linux/amd64/v2, linux/amd64/v3, linux/arm/v6, linux/arm/v7, "
    "linux/arm64, linux/arm64/v8, linux/loong64, linux/mips64le, linux/ppc64le, linux/riscv64, "
    "linux/s390x"
)

# (file text, the whole error message) for every way a file can be wrong after it parses.
ERRORS = {
    # unknown keys, at every level
    "unknown top-level key": ("colour: red\n", f"1: colour: unknown setting (known: {TOP_KEYS})"),
    "unknown github key": (
        "github:\n  workflw: ci\n",
        "2: github.workflw: unknown setting (known: action, buildx, runners, use-action, workflow)",
    ),
    "unknown gitlab key": (
        "gitlab:\n  runner: shell\n  tag: {}\n",
        "3: gitlab.tag: unknown setting (known: buildx, component, runner, tags)",
    ),
    "unknown s3 key": (
        "cache: s3\ns3:\n  bucket: b\n  region: r\n  endpoint: x\n",
        "5: s3.endpoint: unknown setting (known: bucket, prefix, region)",
    ),
    "unknown image key": (
        "images:\n  - name: api\n  - name: web\n    file: Dockerfile\n",
        "4: images[1].file: unknown setting"
        " (known: build-args, context, dockerfile, exclude, image, name, pre-build, target)",
    ),
    "unknown lint key": (
        "lint:\n  colour: red\n",
        "2: lint.colour: unknown setting (known: ignore, select)",
    ),
    "snake_case key": (
        "default_branch: main\n",
        f"1: default_branch: unknown setting (known: {TOP_KEYS})",
    ),
    # wrong types
    "pin not a boolean": ("pin: yes please\n", "1: pin: expected true or false, got a string"),
    "image a number": ("image: 3\n", "1: image: expected a string or null, got an integer"),
    "workflow a list": (
        "github:\n  workflow: [a]\n",
        "2: github.workflow: expected a string, got a list",
    ),
    "platforms a string": (
        "platforms: linux/amd64\n",
        "1: platforms: expected a list, got a string",
    ),
    "images a mapping": ("images: {name: a}\n", "1: images: expected a list, got a mapping"),
    "section a list": ("github: [a]\n", "1: github: expected a mapping, got a list"),
    "lint rules a number": (
        "lint:\n  ignore: 101\n",
        "2: lint.ignore: expected a string, a list or null, got an integer",
    ),
    "section left empty": ("gitlab:\n", "1: gitlab: expected a mapping, got null"),
    "use-action a string": (
        "github:\n  use-action: 'true'\n",
        "2: github.use-action: expected true or false, got a string",
    ),
    # values outside their choices
    "bad strategy": ("strategy: fast\n", "1: strategy: 'fast' is not one of: native, qemu"),
    "bad cache": ("cache: redis\n", "1: cache: 'redis' is not one of: gha, local, registry, s3"),
    "bad provider": (
        "providers: [github, bitbucket]\n",
        "1: providers[1]: 'bitbucket' is not one of: github, gitlab",
    ),
    "bad gitlab runner": (
        "gitlab:\n  runner: k8s\n",
        "2: gitlab.runner: 'k8s' is not one of: dind, mab, shell",
    ),
    # platforms
    "unknown platform": (
        "platforms:\n  - linux/amd64\n  - linux/sparc\n",
        f"3: platforms[1]: 'linux/sparc' is not one of: {PLATFORMS}",
    ),
    "no platform": ("platforms: []\n", "1: platforms: needs at least 1 entry"),
    # runner pairs: platform -> label
    "runner for an unknown platform": (
        "github:\n  runners:\n    linux/sparc: big\n",
        f"2: github.runners: 'linux/sparc' is not one of: {PLATFORMS}",
    ),
    "runner label not a string": (
        "gitlab:\n  tags:\n    linux/arm64: 3\n",
        "3: gitlab.tags.linux/arm64: expected a string, got an integer",
    ),
    "second runner label not a string": (
        "github:\n  runners:\n    linux/amd64: big\n    linux/arm64: [a]\n",
        "4: github.runners.linux/arm64: expected a string, got a list",
    ),
    "a bad label beside another problem": (
        "cache: s3\ngitlab:\n  tags: {linux/amd64: x, linux/arm64: 3}\n",
        "3: gitlab.tags.linux/arm64: expected a string, got an integer",
    ),
    "runners a list": (
        "github:\n  runners: [linux/arm64=big]\n",
        "2: github.runners: expected a mapping, got a list",
    ),
    # required values and values that go together
    "image without a name": (
        "images:\n  - context: api\n",
        "2: images[0].name: required",
    ),
    "s3 without region": ("s3: {bucket: b}\n", "1: s3.region: required"),
    "s3 cache without s3": ("cache: s3\n", "1: cache: s3 needs the s3 section: bucket and region"),
    # versions
    "version zero": ("version: 0\n", "1: version: 0 is not one of: 1"),
    "version a word": ("version: one\n", "1: version: expected an integer, got a string"),
    # not a mapping at all
    "a list": ("- strategy: qemu\n", "1: (top level): expected a mapping, got a list"),
    "a scalar": ("native\n", "1: (top level): expected a mapping, got a string"),
    "a number key": ("1: x\n", "1: (top level): keys must be strings"),
}


@pytest.mark.parametrize("text, message", ERRORS.values(), ids=ERRORS.keys())
def test_every_problem_is_named_by_line_and_path(text: str, message: str) -> None:
    with pytest.raises(UserError) as info:
        parse_config(text)
    assert info.value.message == f".mab.yml:{message}"
    assert info.value.hint == "fix .mab.yml (nothing was written), then run the command again"
    assert info.value.exit_code == EXIT_USAGE


def test_a_newer_version_is_refused_before_anything_else() -> None:
    with pytest.raises(UserError) as info:
        parse_config("# written by a newer mab\nversion: 2\nlint: {strict: true}\n")
    assert info.value.message == (".mab.yml:2: version: 2 is newer than this mab understands (1)")
    assert info.value.hint == (
        "upgrade mab (pip install --upgrade mab-multiarch), or write the file for version 1"
    )


@pytest.mark.parametrize(
    "text, line, problem",
    [
        ("strategy: [native\n", 2, "did not find expected ',' or ']'"),
        (
            "github:\n\tworkflow: ci\n",
            2,
            "found character that cannot start any token"
            " (a tab in the indentation: YAML indents with spaces only)",
        ),
        ("a: b\n c: d\n", 2, "mapping values are not allowed in this context"),
    ],
)
def test_invalid_yaml_names_its_line(text: str, line: int, problem: str) -> None:
    with pytest.raises(InvalidYamlError) as info:
        parse_config(text)
    assert (info.value.path, info.value.line) == (".mab.yml", line)
    assert info.value.message == f".mab.yml:{line}: {problem}"


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n", "---\n"])
def test_an_empty_file_means_every_default(text: str) -> None:
    assert parse_config(text) == Settings()


def test_the_readme_example_reads() -> None:
    from tests.config.test_schema import readme_example

    settings = parse_config(readme_example())
    assert settings.cache == "registry" and settings.github.runners == {
        "linux/arm64": "ubuntu-24.04-arm"
    }
    assert settings.images[0] == ImageSettings(
        name="api",
        image="ghcr.io/acme/api",
        context="services/api",
        dockerfile="services/api/Dockerfile",
    )


def test_load_without_a_file(tmp_path: Path) -> None:
    assert load_config(tmp_path) is None
    assert load_settings(tmp_path) == Settings()


def test_a_bad_file_exits_2_and_stays_untouched(
    tmp_path: Path, run_mab: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.fixture_repos import copy_fixture_repo

    repo = copy_fixture_repo("node", tmp_path)
    (repo / ".mab.yml").write_bytes(b"version: 2\r\nstrategy: qemu\r\n")
    assert run_mab("init-ci", str(repo)) == EXIT_USAGE  # type: ignore[operator]
    err = capsys.readouterr().err
    assert "mab: error: .mab.yml:1: version: 2 is newer than this mab understands (1)" in err
    assert (repo / ".mab.yml").read_bytes() == b"version: 2\r\nstrategy: qemu\r\n"


RICH = Settings(
    providers=("github", "gitlab"),
    platforms=("linux/amd64", "linux/arm64", "linux/arm/v7"),
    strategy="qemu",
    cache="s3",
    image="ghcr.io/acme/app",
    registry_user="robot",
    default_branch="trunk",
    pin=False,
    github=GithubSettings(workflow="build", runners={"linux/arm64": "arm"}, use_action=True),
    gitlab=GitlabSettings(runner="shell", tags={"linux/amd64": "x86"}, component="c@1"),
    s3=S3Cache(bucket="b", region="eu-west-1"),
    images=(ImageSettings(name="api", context="api"),),
)


@pytest.mark.parametrize("settings", [Settings(), RICH], ids=["defaults", "rich"])
def test_what_is_written_reads_back_the_same(settings: Settings) -> None:
    assert parse_config(render_config(settings, None)) == settings


def test_defaults_write_only_what_a_reader_wants_to_see() -> None:
    assert dict(config_data(Settings())) == {
        "version": 1,
        "platforms": ["linux/amd64", "linux/arm64"],
        "strategy": "native",
        "cache": "registry",
        "default-branch": "main",
    }


def test_settings_are_written_in_the_declarations_order_in_kebab_case() -> None:
    data = config_data(RICH)
    assert list(data) == [
        "version", "providers", "platforms", "strategy", "cache", "image", "registry-user",
        "default-branch", "pin", "github", "gitlab", "s3", "images",
    ]  # fmt: skip
    assert data["github"] == {"workflow": "build", "runners": {"linux/arm64": "arm"},
                              "use-action": True}  # fmt: skip
    assert data["s3"] == {"bucket": "b", "region": "eu-west-1"}  # the default prefix left out


def test_a_new_file_starts_with_the_schema_comment_then_the_header() -> None:
    lines = render_config(Settings(), None).splitlines()
    assert lines[0] == f"# yaml-language-server: $schema={SCHEMA_URL}"
    assert lines[1].startswith("# mab settings, written by `mab init-ci`")


def test_a_rewrite_keeps_the_users_comments_and_updates_the_values() -> None:
    old = (
        "# our build settings\n"
        "version: 1\n"
        "platforms: [linux/amd64, linux/arm64]  # arm for the Graviton fleet\n"
        "strategy: native\n"
        "# registry caches are cheapest for us\n"
        "cache: registry\n"
        "default-branch: main\n"
    )
    new = render_config(Settings(strategy="qemu"), old)
    assert new == (
        f"{SCHEMA_COMMENT}{SCHEMA_URL}\n" + old.replace("strategy: native", "strategy: qemu")
    )
    assert render_config(Settings(strategy="qemu"), new) == new  # idempotent: --check passes


def test_an_old_schema_comment_is_replaced_not_repeated() -> None:
    old = f"{SCHEMA_COMMENT}https://example.invalid/v0.0.1.json\n# mine\nstrategy: native\n"
    new = render_config(Settings(), old)
    assert new.count(SCHEMA_COMMENT) == 1
    assert new.startswith(f"{SCHEMA_COMMENT}{SCHEMA_URL}\n# mine\n")


def test_an_empty_file_on_disk_is_replaced_by_the_generated_one() -> None:
    assert render_config(Settings(), "") == render_config(Settings(), None)
    assert dump_roundtrip(config_data(Settings())) in render_config(Settings(), "")
