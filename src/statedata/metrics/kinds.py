"""The kinds of use the portal counts: uses of datasets, which the plan's traffic metrics sum
by agency, and views of data stories, counted apart."""

KINDS = ("api_call", "download", "page_view")
# A data story's page views, under the story's 9-character key (web/stories.py).
STORY_KINDS = ("story_view",)
