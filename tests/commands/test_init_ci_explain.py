"""`mab init-ci --explain`: the images with each field's evidence, on stdout; nothing written."""

from __future__ import annotations

from pathlib import Path

from tests.commands.conftest import Mab
from tests.detection.test_detect import write
from tests.detection.test_evidence import WORKFLOW


def test_explain_shows_each_field_with_its_file_and_line_and_writes_nothing(
    mab: Mab, tmp_path: Path
) -> None:
    root = write(
        tmp_path,
        {
            ".github/workflows/release.yml": WORKFLOW,
            "build/server/Dockerfile": "FROM alpine AS release\n",
            ".devcontainer/Dockerfile": "FROM alpine\n",
        },
    )
    code, out, _ = mab("init-ci", str(root), "--explain")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "1 image(s), each field with its evidence:"
    rows = {line.split()[0]: line.split()[1:] for line in lines[3:12]}
    assert rows["target"] == ["release", "<-", ".github/workflows/release.yml:17"]
    assert rows["images"] == ["ghcr.io/acme/server", "<-", ".github/workflows/release.yml:17"]
    assert rows["tags"] == [
        "type=semver,pattern={{version}}",
        "<-",
        ".github/workflows/release.yml:17",
    ]
    assert "  already pushed by .github/workflows/release.yml:17" in lines
    assert any(".devcontainer/Dockerfile: it is a dev container's" in line for line in lines)
    assert sorted(p.name for p in root.iterdir()) == [".devcontainer", ".github", "build"]


def test_a_normal_run_names_each_image_and_its_source_on_stderr(mab: Mab, tmp_path: Path) -> None:
    root = write(tmp_path, {"docker/dockerfile": "FROM alpine\nCOPY go.mod .\n", "go.mod": ""})
    code, _, err = mab("init-ci", str(root), "--dry-run", "--default-branch", "main")
    assert code == 0, err
    assert "mab: image app: docker/dockerfile (context .) from its file name" in err
