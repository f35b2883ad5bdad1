"""Package managers as a Dockerfile shows them: the commands that run each one, and the ENV
variables that move its cache directory. Pure tables and two small lookups.

Ecosystem names are the ones of `mab.detection.project.ECOSYSTEMS`.
"""

from __future__ import annotations

import posixpath
import re

# The command word that runs each tool (`./mvnw` and `./gradlew` by their basename).
RUN_COMMANDS: dict[str, str] = {
    "npm": "npm",
    "npx": "npm",
    "yarn": "yarn",
    "pnpm": "pnpm",
    "bun": "bun",
    "bunx": "bun",
    "pip": "pip",
    "pip3": "pip",
    "uv": "uv",
    "poetry": "poetry",
    "pipenv": "pipenv",
    "go": "go",
    "cargo": "cargo",
    "mvn": "maven",
    "mvnw": "maven",
    "gradle": "gradle",
    "gradlew": "gradle",
    "bundle": "bundler",
    "gem": "bundler",
    "composer": "composer",
}
# ENV variables that set where a tool keeps its cache, and the tool; the part under the
# directory where the downloads live, when they are not the directory itself.
CACHE_ENV: dict[str, tuple[str, str]] = {
    "CARGO_HOME": ("cargo", "registry"),
    "UV_CACHE_DIR": ("uv", ""),
    "PIP_CACHE_DIR": ("pip", ""),
    "POETRY_CACHE_DIR": ("poetry", ""),
    "PIPENV_CACHE_DIR": ("pipenv", ""),
    "npm_config_cache": ("npm", ""),
    "NPM_CONFIG_CACHE": ("npm", ""),
    "YARN_CACHE_FOLDER": ("yarn", ""),
    "PNPM_STORE_DIR": ("pnpm", ""),
    "npm_config_store_dir": ("pnpm", ""),
    "BUN_INSTALL_CACHE_DIR": ("bun", ""),
    "GOMODCACHE": ("go", ""),
    "GOCACHE": ("go", ""),
    "GOPATH": ("go", "pkg/mod"),
    "GRADLE_USER_HOME": ("gradle", ""),
    "MAVEN_CONFIG": ("maven", ""),
    "COMPOSER_CACHE_DIR": ("composer", ""),
    "BUNDLE_CACHE_PATH": ("bundler", ""),
}
_WORD = re.compile(r"[A-Za-z0-9_./-]+")


def tools_run(command: str) -> set[str]:
    """The ecosystems whose tool a RUN command line calls."""
    found = set()
    for word in _WORD.findall(command):
        tool = RUN_COMMANDS.get(posixpath.basename(word))
        if tool is not None:
            found.add(tool)
    return found


def tool_for_env_dir(target: str, env: dict[str, str]) -> str | None:
    """The tool whose cache directory (set by an ENV variable of `env`) holds `target`."""
    path = "/" + target.strip("/")
    for name, value in env.items():
        spec = CACHE_ENV.get(name)
        if spec is None or not value.startswith("/"):
            continue
        home = "/" + value.strip("/")
        if path == home or path.startswith(home.rstrip("/") + "/"):
            return spec[0]
    return None
