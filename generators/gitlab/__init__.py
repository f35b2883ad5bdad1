"""The GitLab CI generator: a project model in, mab's jobs file (or a component include) out."""

from mab.generators.gitlab.render import component_include, pipeline

__all__ = ["component_include", "pipeline"]
