"""nnlint: catch the mistakes that make neural-network training code fail silently."""

__version__ = "0.1.0"
