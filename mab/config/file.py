"""`.mab.yml`: the choices `mab init-ci` made, so re-runs are reproducible and `mab build` uses
the CI's platforms and cache refs. Parsing is strict: every problem is reported as
`.mab.yml: path.to.field: message`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mab.config.settings import (
    CACHE_BACKENDS,
    CONFIG_FILE,
    GITLAB_RUNNERS,
    STRATEGIES,
    ImageSettings,
    S3Cache,
    Settings,
    parse_platforms,
)
from mab.errors import UserError
from mab.files.yamlio import read_data, to_commented

PROVIDERS = ("github", "gitlab")
HEADER = (
    "mab settings, written by `mab init-ci` and read by `mab init-ci` and `mab build`.\n"
    "Edit freely: flags given on the command line override these values.\n"
)


@dataclass(frozen=True)
class Config:
    settings: Settings = field(default_factory=Settings)
    providers: tuple[str, ...] = ()
    use_action: bool = False
    action: str | None = None  # mab's composite action, OWNER/REPO/PATH@REF (default: its own)
    use_component: str | None = None
    default_branch_given: bool = False  # `.mab.yml` names it (else detection chooses)


class _Problems:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.lines.append(f"{CONFIG_FILE}: {where}: {message}")


def _str(data: dict[str, Any], key: str, where: str, problems: _Problems) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        problems.add(f"{where}{key}", f"expected a string, got {type(value).__name__}")
        return None
    return str(value)


def _mapping(value: Any, where: str, problems: _Problems) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.add(where, f"expected a mapping, got {type(value).__name__}")
        return {}
    return value


def _pairs(value: Any, where: str, problems: _Problems) -> tuple[tuple[str, str], ...]:
    mapping = _mapping(value, where, problems)
    out = []
    for k, v in mapping.items():
        if not isinstance(v, str):
            problems.add(f"{where}.{k}", "expected a string")
            continue
        out.append((str(k), v))
    return tuple(out)


def parse_config(data: Any) -> Config:
    """Validate the parsed content of `.mab.yml`."""
    problems = _Problems()
    top = _mapping(data, "(top level)", problems)
    known = {
        "version", "platforms", "strategy", "cache", "image", "default-branch", "pin",
        "providers", "github", "gitlab", "s3", "images",
    }  # fmt: skip
    for key in top:
        if key not in known:
            problems.add(str(key), "unknown setting (known: " + ", ".join(sorted(known)) + ")")
    kwargs: dict[str, Any] = {}
    if "platforms" in top:
        try:
            kwargs["platforms"] = parse_platforms(top["platforms"])
        except UserError as exc:
            problems.add("platforms", exc.message + (f" ({exc.hint})" if exc.hint else ""))
    for key, choices in (("strategy", STRATEGIES), ("cache", CACHE_BACKENDS)):
        value = _str(top, key, "", problems)
        if value is not None:
            if value in choices:
                kwargs[key] = value
            else:
                problems.add(key, f"{value!r} is not one of: " + ", ".join(choices))
    for key, attr in (("image", "image"), ("default-branch", "default_branch")):
        value = _str(top, key, "", problems)
        if value is not None:
            kwargs[attr] = value
    if "pin" in top:
        if isinstance(top["pin"], bool):
            kwargs["pin"] = top["pin"]
        else:
            problems.add("pin", "expected true or false")
    github = _mapping(top.get("github"), "github", problems)
    if (workflow := _str(github, "workflow", "github.", problems)) is not None:
        kwargs["workflow"] = workflow
    kwargs["github_runners"] = _pairs(github.get("runners"), "github.runners", problems)
    gitlab = _mapping(top.get("gitlab"), "gitlab", problems)
    if (runner := _str(gitlab, "runner", "gitlab.", problems)) is not None:
        if runner in GITLAB_RUNNERS:
            kwargs["gitlab_runner"] = runner
        else:
            problems.add("gitlab.runner", f"{runner!r} is not one of: {', '.join(GITLAB_RUNNERS)}")
    kwargs["gitlab_tags"] = _pairs(gitlab.get("tags"), "gitlab.tags", problems)
    if "s3" in top:
        s3 = _mapping(top["s3"], "s3", problems)
        bucket, region = _str(s3, "bucket", "s3.", problems), _str(s3, "region", "s3.", problems)
        if bucket and region:
            prefix = _str(s3, "prefix", "s3.", problems)
            kwargs["s3"] = S3Cache(bucket, region, prefix if prefix is not None else "mab-cache/")
        else:
            problems.add("s3", "needs both bucket and region")
    images = top.get("images") or []
    if not isinstance(images, list):
        problems.add("images", "expected a list of {name, image, context, dockerfile, target}")
        images = []
    parsed_images = []
    for i, item in enumerate(images):
        entry = _mapping(item, f"images[{i}]", problems)
        name = _str(entry, "name", f"images[{i}].", problems)
        if not name:
            problems.add(f"images[{i}].name", "required")
            continue
        parsed_images.append(
            ImageSettings(
                name=name,
                image=_str(entry, "image", f"images[{i}].", problems),
                context=_str(entry, "context", f"images[{i}].", problems),
                dockerfile=_str(entry, "dockerfile", f"images[{i}].", problems),
                target=_str(entry, "target", f"images[{i}].", problems),
            )
        )
    kwargs["images"] = tuple(parsed_images)
    providers_raw = top.get("providers") or []
    providers: list[str] = []
    for p in providers_raw if isinstance(providers_raw, list) else [providers_raw]:
        if p in PROVIDERS:
            providers.append(p)
        else:
            problems.add("providers", f"{p!r} is not one of: " + ", ".join(PROVIDERS))
    use_action = bool(github.get("use-action", False))
    action = _str(github, "action", "github.", problems)
    use_component = _str(gitlab, "component", "gitlab.", problems)
    if problems.lines:
        raise UserError(
            "invalid settings:\n  " + "\n  ".join(problems.lines),
            hint=f"fix {CONFIG_FILE} (nothing was written), then run the command again",
        )
    try:
        settings = Settings(**kwargs)
    except UserError as exc:
        raise UserError(f"{CONFIG_FILE}: {exc.message}", hint=exc.hint) from None
    return Config(
        settings,
        tuple(providers),
        use_action,
        action,
        use_component,
        "default_branch" in kwargs,
    )


def load_config(root: Path) -> Config | None:
    """The repository's `.mab.yml`, or None when there is none."""
    path = root / CONFIG_FILE
    if not path.exists():
        return None
    return parse_config(read_data(path, where=CONFIG_FILE))


def load_settings(root: Path) -> Settings:
    """Settings for `mab build`: the repository's `.mab.yml`, or the defaults."""
    config = load_config(root)
    return config.settings if config else Settings()


def config_data(config: Config) -> Any:
    """The YAML document for `.mab.yml` (only values that differ from the defaults, plus the
    ones a reader wants to see)."""
    s, d = config.settings, Settings()
    data: dict[str, Any] = {"version": 1}
    if config.providers:
        data["providers"] = list(config.providers)
    data["platforms"] = list(s.platforms)
    data["strategy"] = s.strategy
    data["cache"] = s.cache
    if s.image:
        data["image"] = s.image
    data["default-branch"] = s.default_branch
    if s.pin != d.pin:
        data["pin"] = s.pin
    github: dict[str, Any] = {}
    if s.workflow != d.workflow:
        github["workflow"] = s.workflow
    if s.github_runners:
        github["runners"] = dict(s.github_runners)
    if config.use_action:
        github["use-action"] = True
    if config.action:
        github["action"] = config.action
    if github:
        data["github"] = github
    gitlab: dict[str, Any] = {}
    if s.gitlab_runner != d.gitlab_runner:
        gitlab["runner"] = s.gitlab_runner
    if s.gitlab_tags:
        gitlab["tags"] = dict(s.gitlab_tags)
    if config.use_component:
        gitlab["component"] = config.use_component
    if gitlab:
        data["gitlab"] = gitlab
    if s.s3:
        data["s3"] = {"bucket": s.s3.bucket, "region": s.s3.region, "prefix": s.s3.prefix}
    if s.images:
        data["images"] = [{k: v for k, v in vars(i).items() if v is not None} for i in s.images]
    doc = to_commented(data)
    doc.yaml_set_start_comment(HEADER)
    return doc


def with_overrides(config: Config, **changes: Any) -> Config:
    """Apply command-line flags (None means "not given") over the file's settings."""
    settings_changes = {k: v for k, v in changes.items() if v is not None and k != "providers"}
    providers = changes.get("providers") or config.providers
    use_action = settings_changes.pop("use_action", config.use_action)
    action = settings_changes.pop("action", config.action)
    use_component = settings_changes.pop("use_component", config.use_component)
    return replace(
        config,
        settings=replace(config.settings, **settings_changes),
        providers=tuple(providers),
        use_action=use_action,
        action=action,
        use_component=use_component,
    )
