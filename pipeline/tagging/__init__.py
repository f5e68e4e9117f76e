"""The tagger: relevance, jurisdiction, stance and event of an item (see ``tagger.tag_item``)."""

from pipeline.tagging.tagger import TAGGER_VERSION, tag_item
from pipeline.tagging.types import Evidence, Jurisdiction, TagInput, Tags

__all__ = ["TAGGER_VERSION", "Evidence", "Jurisdiction", "TagInput", "Tags", "tag_item"]
