"""Turn a lint fixture into something the busybox-only engine can build: every external base
image becomes a stage of its own on `localhost:5000/base/busybox:1` that holds the stand-in
package managers (tests/fixtures/lint/standin/standin) and the environment the real image sets
(GOPATH, CARGO_HOME, GEM_HOME, the `node` user); `ADD <url>` becomes a local file. Only FROM,
`COPY --from=<image>` and `ADD <url>` lines change, and `mab lint --fix` edits none of those, so
the stand-in of the fixed file is the fixed stand-in. A `# syntax=` directive is dropped (its
frontend image lives on Docker Hub; the built-in frontend parses every fixture)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.engine_env import BASE_IMAGE

STANDIN = Path(__file__).resolve().parents[1] / "fixtures/lint/standin/standin"
TOOLS = (
    *("npm", "yarn", "pnpm", "pip", "pip3", "python", "python3", "uv", "poetry", "go", "cargo"),
    *("mvn", "gradle", "bundle", "composer", "apt-get", "apt", "apk", "corepack"),
    *("xx-apt-get", "xx-cargo", "xx-info", "bun", "pipenv", "sbt", "dotnet", "mix"),
)
_FROM = re.compile(r"^(\s*FROM\s+)(--platform=\S+\s+)?(\S+)(.*)$", re.IGNORECASE)
_COPY_FROM = re.compile(r"--from=(\S+)")
_ADD_URL = re.compile(r"^(\s*)ADD\s+(?:--\S+\s+)*https?://\S+\s+(\S+)\s*$", re.IGNORECASE)
_ENV = {
    "golang": "ENV GOPATH=/go PATH=/go/bin:$PATH",
    "rust": "ENV CARGO_HOME=/usr/local/cargo",
    "ruby": "ENV GEM_HOME=/usr/local/bundle BUNDLE_APP_CONFIG=/usr/local/bundle",
    "node": "RUN echo 'node:x:1000:1000::/home/node:/bin/sh' >> /etc/passwd"
    " && echo 'node:x:1000:' >> /etc/group && mkdir -p /home/node && chown 1000:1000 /home/node",
}


def _slug(image: str, platform: str = "") -> str:
    return "standin-" + re.sub(r"[^a-z0-9]+", "-", (image + platform).lower()).strip("-")


def _stage(image: str, platform: str) -> list[str]:
    """The stand-in of `image`; a `--platform=` flag of the FROM that names it goes here (a
    FROM naming a stage takes that stage's platform, whatever its own flag says)."""
    name = image.rsplit("/", 1)[-1].split(":")[0]
    lines = [f"FROM {platform}{BASE_IMAGE} AS {_slug(image, platform)}"]
    lines.append("COPY mab-standin/ /usr/local/bin/")
    lines.append("RUN mkdir -p /usr/bin && ln -s /usr/local/bin/composer /usr/bin/composer")
    lines += [v for k, v in _ENV.items() if name.startswith(k)]
    return lines


def standin_dockerfile(text: str) -> str:
    lines = text.splitlines(keepends=True)
    eol = "\r\n" if "\r\n" in text else "\n"
    stage_names: set[str] = set()
    images: list[tuple[str, str]] = []
    out: list[str] = []
    first_from: int | None = None
    for line in lines:
        match = _FROM.match(line.rstrip("\r\n"))
        if re.match(r"#\s*syntax\s*=", line, re.IGNORECASE):
            line = "# (syntax directive dropped: no registry but the local one)" + eol
        elif match:
            first_from = len(out) if first_from is None else first_from
            platform, image, rest = match.group(2) or "", match.group(3), match.group(4)
            alias = re.search(r"\bAS\s+(\S+)", rest, re.IGNORECASE)
            if image.lower() not in stage_names and image != "scratch":
                images.append((image, platform))
                line = match.group(1) + _slug(image, platform) + rest + eol
            if alias:
                stage_names.add(alias.group(1).lower())
        elif (copy := _COPY_FROM.search(line)) and copy.group(1).lower() not in stage_names:
            images.append((copy.group(1), ""))
            line = line.replace(copy.group(0), f"--from={_slug(copy.group(1))}")
        elif add := _ADD_URL.match(line.rstrip("\r\n")):
            line = f"{add.group(1)}RUN echo standin > {add.group(2)}{eol}"
        out.append(line)
    stages = [s + eol for image, flag in dict.fromkeys(images) for s in _stage(image, flag)]
    at = first_from or 0
    return "".join(out[:at] + stages + out[at:])


def prepare_context(context: Path) -> None:
    """Put the stand-in tools into the build context, under every tool's name."""
    bin_dir = context / "mab-standin"
    bin_dir.mkdir()
    for tool in TOOLS:
        shutil.copy2(STANDIN, bin_dir / tool)
