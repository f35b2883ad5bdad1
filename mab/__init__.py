"""mab: fast, visible multi-arch container builds."""

__version__ = "0.1.0"
