"""The GitHub Actions generator: a project model in, one workflow document out."""

from mab.generators.github.render import workflow

__all__ = ["workflow"]
