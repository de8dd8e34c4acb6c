"""Problems' pure rules: the incident index's text, problem records, known errors, deficiency
reports, releases, changes and advisories."""

from .text import jaccard, tokens

__all__ = ["jaccard", "tokens"]
