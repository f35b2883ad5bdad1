"""A build outside CI writes a shared registry ref only from the default branch of a clean
tree, or with --force; other caches (local folders, inline) are the user's own."""

from __future__ import annotations

import pytest

from mab.errors import EXIT_USAGE, UserError
from mab.run.plan import GitState, WritesAsked, check_writes

REGISTRY = "type=registry,ref=localhost:5000/app:buildcache-linux-amd64,mode=max"
FEATURE = GitState(branch="feature-x", dirty=False)
DIRTY = GitState(branch="main", dirty=True)


@pytest.mark.parametrize(
    ("asked", "git", "said"),
    [
        (WritesAsked(cache_to=REGISTRY), FEATURE, "this is branch feature-x, not main"),
        (WritesAsked(push_record=True), FEATURE, "--push-record writes a shared registry ref"),
        (WritesAsked(cache_to=REGISTRY), DIRTY, "uncommitted changes"),
    ],
)
def test_shared_writes_off_the_default_branch_or_dirty_are_refused(
    asked: WritesAsked, git: GitState, said: str
) -> None:
    with pytest.raises(UserError) as refused:
        check_writes(asked, git, "main")
    assert said in refused.value.message
    assert refused.value.exit_code == EXIT_USAGE
    assert "--force" in (refused.value.hint or "")


@pytest.mark.parametrize(
    ("asked", "git"),
    [
        (WritesAsked(cache_to=REGISTRY), GitState("main", dirty=False)),
        (WritesAsked(cache_to=REGISTRY, force=True), FEATURE),
        (WritesAsked(cache_to=REGISTRY, push_record=True, force=True), DIRTY),
        (WritesAsked(cache_to="type=local,dest=/tmp/c"), FEATURE),  # the user's own folder
        (WritesAsked(), DIRTY),  # nothing written
        (WritesAsked(cache_to=REGISTRY), GitState()),  # no repository: nothing to go by
    ],
)
def test_other_writes_go_ahead(asked: WritesAsked, git: GitState) -> None:
    check_writes(asked, git, "main")
