"""Language, sentiment, intent and lead-capture entities for social-media texts in English and Chinese.

Load the shipped models once per process with ``Tagger.load()`` and call ``tag_many(texts)``.
"""

from scrm.nlp.tagger import Tagger
from scrm.nlp.tags import Entity, Tags

__all__ = ["Entity", "Tagger", "Tags"]
