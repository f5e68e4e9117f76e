"""Public entry point of the tagger: ``tag_item(TagInput) -> Tags``.

Deterministic, offline, CPU only. Steps: analyse the text (headline, sentences, quotes, voice),
find and resolve places, choose the main jurisdiction, run the relevance/event/stance rules
(``features.analyse_item``); then the learned model shipped in ``pipeline/data/tagger_model.json``
decides relevance, and for relevant items stance and event (``model.predict_tags``).
Tagging is English-first: a non-English item is still tagged, with a note saying so.
"""

from __future__ import annotations

from pipeline.tagging.features import analyse_item
from pipeline.tagging.model import load_model, predict_tags, shipped_version
from pipeline.tagging.types import TagInput, Tags

# A new model file is a new version (and so a new index on reindex): derived from the file's hash.
TAGGER_VERSION = shipped_version()


def tag_item(item: TagInput) -> Tags:
    """Tag one item: relevance, jurisdiction (+ others), stance with confidence, event, evidence."""
    loaded = load_model()
    return predict_tags(loaded.model, analyse_item(item), version=loaded.version)
