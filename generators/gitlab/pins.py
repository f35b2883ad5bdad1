"""The container images a generated GitLab pipeline runs, in one place.

Bump a version here and every generated `.gitlab/ci/mab.yml` (and the committed CI/CD component,
which a test keeps equal to the generator's output) follows.
"""

from __future__ import annotations

# Docker CLI (with the buildx plugin) and the Docker-in-Docker daemon: the same release.
DOCKER_VERSION = "29.6.2"
DOCKER_CLI_IMAGE = f"docker:{DOCKER_VERSION}-cli"
DOCKER_DIND_IMAGE = f"docker:{DOCKER_VERSION}-dind"
# BuildKit for the `docker-container` builder: the image buildx itself defaults to.
BUILDKIT_IMAGE = "moby/buildkit:buildx-stable-1"
# Registers QEMU binfmt handlers for emulated platforms (what docker/setup-qemu-action runs).
BINFMT_IMAGE = "tonistiigi/binfmt:qemu-v10.2.3"
# The tiny image that copies cache-mount contents in and out of BuildKit.
BUSYBOX_IMAGE = "busybox:1.37"
# `mab verify` after the merge: pip installs mab into this image's Python.
PYTHON_IMAGE = "python:3.13-slim"
