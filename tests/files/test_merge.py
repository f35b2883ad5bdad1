"""Round-trip merging: before/after texts, comments included."""

from __future__ import annotations

from textwrap import dedent

from mab.files.merge import merge_jobs, merge_mapping, merge_workflow
from mab.files.yamlio import dump_roundtrip, load_roundtrip, to_commented


def merged(old: str, new: str) -> str:
    return dump_roundtrip(
        merge_workflow(load_roundtrip(dedent(old), "old"), load_roundtrip(dedent(new), "new"))
    )


GENERATED = """\
    name: mab
    "on":
      push:
        branches: [main]
        tags: ["v*"]
    jobs:
      build:
        runs-on: ubuntu-24.04
        steps:
          - id: mab-checkout
            uses: actions/checkout@abc # v7.0.1
          - id: mab-cache
            uses: actions/cache@def # v5.0.5
          - id: mab-build
            run: echo build2
      merge:
        needs: build
        runs-on: ubuntu-24.04
        steps:
          - id: mab-merge
            run: echo merge
    """


def test_user_comments_steps_jobs_and_keys_survive() -> None:
    old = """\
        # my header comment
        name: CI   # my name
        "on":
          push:
            branches: [main]
          schedule:
            - cron: "0 0 * * *"
        jobs:
          lint:   # user job
            runs-on: ubuntu-latest
            steps:
              - run: echo lint
          build:
            runs-on: ubuntu-22.04
            environment: prod
            steps:
              - run: echo first   # user first step
              - id: mab-checkout
                uses: actions/checkout@old # v3
              - name: my extra
                run: echo extra
              - id: mab-build
                run: echo build
        """
    assert merged(old, GENERATED) == dedent(
        """\
        # my header comment
        name: mab  # my name
        "on":
          push:
            branches: [main]
            tags: ["v*"]
          schedule:
            - cron: "0 0 * * *"
        jobs:
          lint:   # user job
            runs-on: ubuntu-latest
            steps:
              - run: echo lint
          build:
            runs-on: ubuntu-24.04
            environment: prod
            steps:
              - run: echo first   # user first step
              - id: mab-checkout
                uses: actions/checkout@abc # v7.0.1
              - name: my extra
                run: echo extra
              - id: mab-cache
                uses: actions/cache@def # v5.0.5
              - id: mab-build
                run: echo build2
          merge:
            needs: build
            runs-on: ubuntu-24.04
            steps:
              - id: mab-merge
                run: echo merge
        """
    )


def test_merging_twice_changes_nothing() -> None:
    once = merged(GENERATED, GENERATED)
    assert merged(once, GENERATED) == once


def test_stale_mab_jobs_and_keys_are_removed_user_jobs_kept() -> None:
    old = """\
        jobs:
          build:
            strategy:
              matrix:
                platform: [a, b]
            runs-on: x
            steps:
              - id: mab-build
                run: old
          build-web:
            runs-on: x
            steps:
              - id: mab-build
                run: gone
          deploy:
            runs-on: x
            steps:
              - run: ./deploy
        """
    new = """\
        jobs:
          build:
            runs-on: y
            steps:
              - id: mab-build
                run: new
        """
    text = merged(old, new)
    assert "build-web" not in text
    assert "strategy" not in text
    assert "deploy:" in text and "./deploy" in text
    assert "run: new" in text


def test_user_step_after_a_removed_mab_step_goes_first() -> None:
    old = """\
        jobs:
          build:
            steps:
              - id: mab-old
                run: old
              - run: mine
              - id: mab-build
                run: b
        """
    new = """\
        jobs:
          build:
            steps:
              - id: mab-build
                run: b
        """
    data = load_roundtrip(merged(old, new), "x")
    assert [s.get("id", s.get("run")) for s in data["jobs"]["build"]["steps"]] == [
        "mine",
        "mab-build",
    ]


def test_gitlab_jobs_merge_keeps_user_jobs() -> None:
    old = load_roundtrip("mab-build-app:\n  script: [old]\nmy-job:\n  script: [x]\n", "o")
    new = load_roundtrip("mab-build-app:\n  script: [new]\n", "n")
    text = dump_roundtrip(merge_jobs(old, new))
    assert "my-job" in text and "new" in text and "old" not in text


def test_settings_merge_keeps_user_keys_and_comments() -> None:
    old = load_roundtrip("platforms: [linux/amd64]  # just one\nstrategy: qemu\n", "o")
    new = load_roundtrip("platforms: [linux/amd64, linux/arm64]\nstrategy: qemu\n", "n")
    text = dump_roundtrip(merge_mapping(old, new))
    assert text.splitlines()[0].split("#")[0].rstrip() == "platforms: [linux/amd64, linux/arm64]"
    assert text.splitlines()[0].endswith("# just one")


def test_a_comment_about_the_next_job_follows_the_steps_and_jobs_inserted_before_it() -> None:
    """ruamel.yaml keeps a comment above a key as the trailing comment of the node before it:
    new steps and jobs inserted after that node must not take it from the key it is about."""
    old = load_roundtrip(
        dedent(
            """\
            jobs:
              merge:
                steps:
                  - id: mab-a
                    run: echo a  # why a
              # Tell the team.
              notify:
                needs: merge
            """
        ),
        "test",
    )
    new = to_commented(  # as the generators make them
        {
            "merge": {
                "steps": [{"id": "mab-a", "run": "echo a"}, {"id": "mab-b", "run": "echo b"}]
            },
            "sign": {"steps": [{"id": "mab-sign", "run": "echo s"}]},
        }
    )
    merge_jobs(old["jobs"], new)
    text = dump_roundtrip(old)
    assert "run: echo a  # why a\n" in text
    end = "      - id: mab-sign\n        run: echo s\n  # Tell the team.\n  notify:\n"
    assert text.endswith(end + "    needs: merge\n")
