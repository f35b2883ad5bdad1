from __future__ import annotations

from textwrap import dedent

import pytest

from mab.detection.project import Remote
from mab.detection.remote import parse_remote_url, remote_from_config, remote_urls


@pytest.mark.parametrize(
    ("url", "remote"),
    [
        ("https://github.com/acme/node.git", Remote("github.com", "acme/node", "github")),
        ("https://github.com/acme/node", Remote("github.com", "acme/node", "github")),
        ("git@github.com:acme/monorepo.git", Remote("github.com", "acme/monorepo", "github")),
        ("ssh://git@github.com/acme/x.git", Remote("github.com", "acme/x", "github")),
        (
            "https://oauth2:token@gitlab.com/group/sub/project.git",
            Remote("gitlab.com", "group/sub/project", "gitlab"),
        ),
        (
            "ssh://git@gitlab.corp.example:2222/platform/api.git",
            Remote("gitlab.corp.example", "platform/api", "gitlab"),
        ),
        ("git@bitbucket.org:team/app.git", Remote("bitbucket.org", "team/app", "other")),
        ("https://GitHub.com/Acme/App/", Remote("github.com", "Acme/App", "github")),
    ],
)
def test_remote_urls(url: str, remote: Remote) -> None:
    assert parse_remote_url(url) == remote


@pytest.mark.parametrize("url", ["/srv/git/app.git", "../app", "file:///srv/app.git", "", "C:/x"])
def test_local_paths_are_not_remotes(url: str) -> None:
    assert parse_remote_url(url) is None


def test_default_image_follows_the_provider() -> None:
    github = parse_remote_url("git@github.com:Acme/App.git")
    assert github is not None and github.default_image == "ghcr.io/acme/app"
    gitlab = parse_remote_url("https://gitlab.example.com/g/p.git")
    assert gitlab is not None and gitlab.default_image == "registry.gitlab.example.com/g/p"


CONFIG = dedent(
    """
    [core]
    \trepositoryformatversion = 0
    # [remote "commented"]
    ;\turl = https://github.com/nope/nope.git
    [remote "upstream"]
    \turl = https://github.com/upstream/app.git
    \tfetch = +refs/heads/*:refs/remotes/upstream/*
    [remote "origin"]
    \tURL = "git@github.com:acme/app.git" # the fork
    [branch "main"]
    \tremote = origin
    \turl = https://github.com/not/a-remote.git
    """
)


def test_config_remote_urls_in_order() -> None:
    assert remote_urls(CONFIG) == {
        "upstream": "https://github.com/upstream/app.git",
        "origin": "git@github.com:acme/app.git",
    }


def test_origin_is_preferred_then_the_first_remote() -> None:
    assert remote_from_config(CONFIG) == Remote("github.com", "acme/app", "github")
    without_origin = CONFIG.replace('"origin"', '"fork"')
    assert remote_from_config(without_origin) == Remote("github.com", "upstream/app", "github")
    assert remote_from_config("[core]\n\tbare = false\n") is None
