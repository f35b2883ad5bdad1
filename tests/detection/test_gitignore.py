"""The .gitignore matcher that decides which trees detection skips."""

from __future__ import annotations

import pytest

from mab.detection.gitignore import IgnoreFile, is_ignored


class TestGitignore:
    @pytest.mark.parametrize(
        ("patterns", "path", "is_dir", "ignored"),
        [
            ("*.log", "a/b/debug.log", False, True),
            ("/*.log", "a/debug.log", False, False),
            ("/*.log", "debug.log", False, True),
            ("build/", "src/build", True, True),
            ("build/", "src/build", False, False),
            ("docs/*.md", "docs/a.md", False, True),
            ("docs/*.md", "docs/x/a.md", False, False),
            ("docs/**/*.md", "docs/x/y/a.md", False, True),
            ("docs/**/*.md", "docs/a.md", False, True),
            ("**/cache", "a/b/cache", True, True),
            ("out/**", "out/a/b", False, True),
            ("a?c", "abc", False, True),
            ("a?c", "a/c", False, False),
            ("[Dd]ockerfile.*", "dockerfile.tmp", False, True),
            ("[!D]ockerfile", "Dockerfile", False, False),
            ("\\#notes", "#notes", False, True),
            ("*.lock\n!poetry.lock", "poetry.lock", False, False),
            ("!poetry.lock\n*.lock", "poetry.lock", False, True),
            ("# comment\n\n   \n", "anything", False, False),
            ("trailing   ", "trailing", False, True),
        ],
    )
    def test_patterns(self, patterns: str, path: str, is_dir: bool, ignored: bool) -> None:
        rules = IgnoreFile.parse(patterns)
        assert is_ignored([rules] if rules else [], path, is_dir=is_dir) is ignored

    def test_deeper_files_decide_and_patterns_are_relative_to_their_file(self) -> None:
        root = IgnoreFile.parse("*.txt\n/top-only\n")
        nested = IgnoreFile.parse("!keep.txt\n/local\n", base="pkg")
        assert root is not None and nested is not None
        rules = [root, nested]
        assert is_ignored(rules, "pkg/drop.txt", is_dir=False)
        assert not is_ignored(rules, "pkg/keep.txt", is_dir=False)
        assert is_ignored(rules, "pkg/local", is_dir=True)
        assert not is_ignored(rules, "pkg/top-only", is_dir=True)
        assert is_ignored(rules, "top-only", is_dir=True)
