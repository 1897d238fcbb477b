"""The tantivy index of the catalog and the queries run on it: relevance (BM25, title first),
English stemming, fuzzy matching of misspelled words, sorting, paging and exact facet counts.

This module knows nothing of the catalog database: it indexes `Record`s and answers for a
`Visibility`. Keeping it in step with the catalog is `sync.py`'s job. User text never reaches
tantivy's query parser: queries are built here term by term.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import tantivy
from tantivy import FieldType, Filter, Occur, Order, Query, TextAnalyzerBuilder, Tokenizer

from statedata.catalog.vocab import (
    CLASSIFICATION_MEANINGS,
    DEMOGRAPHIC_DIMENSIONS,
    FREQUENCY_NAMES,
)
from statedata.freshness.status import Freshness
from statedata.search.records import (
    NEVER,
    FreshnessThresholds,
    Record,
    day_number,
    status_on,
    thresholds,
)

# Bump when the schema or the analysis changes: an index of another version is rebuilt.
SCHEMA_VERSION = 2
ANALYZER = "statedata_en"
PLAIN = "statedata_plain"  # the same words, not stemmed: misspellings are matched on these
MAX_WORDS = 12
MAX_WORD_LENGTH = 40
MAX_RESULTS = 10_000  # page * page_size may not go past this
FACET_VALUES = 50  # values listed per facet, by count (selected values are always listed)
AGG_SIZE = 10_000  # values counted per facet: above any real catalog's, so counts are exact

# Field -> boost. Title matches rank first.
TEXT_FIELDS = {"title": 4.0, "keywords": 2.0, "description": 1.0, "columns": 0.7}
FUZZY_FIELDS = {"title_plain": 2.0, "text_plain": 1.0}
FACETS = (
    "agency",
    "category",
    "tag",
    "frequency",
    "freshness",
    "classification",
    "high_value",
    "disaggregated_by",
)
# Facet -> the raw (untokenized) field it counts.
FACET_FIELDS = {
    "agency": "agency",
    "category": "category",
    "tag": "tag",
    "frequency": "frequency",
    "classification": "classification",
    "high_value": "high_value",
    "disaggregated_by": "disaggregated_by",
}
SORTS = ("relevance", "updated", "title", "views")
FRESHNESS_ORDER = (
    Freshness.FRESH.value,
    Freshness.DUE.value,
    Freshness.OVERDUE.value,
    Freshness.STALE.value,
    Freshness.NO_SCHEDULE.value,
    Freshness.NOT_UPDATED.value,
)
# Words that say little in a catalog search; dropped from a query that has other words.
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "in",
        "into",
        "is",
        "it",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
        "data",
        "dataset",
    ]
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def analyzer() -> tantivy.TextAnalyzer:
    return (
        TextAnalyzerBuilder(Tokenizer.simple())
        .filter(Filter.remove_long(MAX_WORD_LENGTH))
        .filter(Filter.lowercase())
        .filter(Filter.ascii_fold())
        .filter(Filter.stemmer("english"))
        .build()
    )


def plain_analyzer() -> tantivy.TextAnalyzer:
    return (
        TextAnalyzerBuilder(Tokenizer.simple())
        .filter(Filter.remove_long(MAX_WORD_LENGTH))
        .filter(Filter.lowercase())
        .filter(Filter.ascii_fold())
        .build()
    )


_ANALYZER = analyzer()
_PLAIN = plain_analyzer()


@lru_cache(maxsize=200_000)
def plain(word: str) -> str | None:
    """A word as the unstemmed fields keep it (lowercase, accents folded)."""
    tokens = _PLAIN.analyze(word)
    return tokens[0] if tokens else None


@lru_cache(maxsize=200_000)
def stem(word: str) -> str | None:
    """The index term of one word, or None for a word the index does not keep."""
    tokens = _ANALYZER.analyze(word)
    return tokens[0] if tokens else None


def build_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw", fast=True)
    sb.add_text_field("title", stored=True, tokenizer_name=ANALYZER)
    sb.add_text_field("description", stored=True, tokenizer_name=ANALYZER)
    sb.add_text_field("keywords", tokenizer_name=ANALYZER)
    sb.add_text_field("columns", tokenizer_name=ANALYZER)
    sb.add_text_field("title_plain", tokenizer_name=PLAIN, index_option="freq")
    sb.add_text_field("text_plain", tokenizer_name=PLAIN, index_option="freq")
    sb.add_text_field("title_sort", tokenizer_name="raw", fast=True)
    sb.add_text_field("agency_name", stored=True, tokenizer_name="raw")
    for name in FACET_FIELDS.values():
        sb.add_text_field(name, stored=True, tokenizer_name="raw", fast=True)
    sb.add_text_field("fresh_kind", stored=True, tokenizer_name="raw", fast=True)
    for name in ("due_from", "overdue_from", "stale_from"):
        sb.add_integer_field(name, stored=True, indexed=True, fast=True)
    sb.add_integer_field("updated", stored=True, fast=True)
    sb.add_text_field("data_updated_at", stored=True, tokenizer_name="raw")
    sb.add_unsigned_field("popularity", stored=True, fast=True)
    sb.add_text_field("hv_criteria", stored=True, tokenizer_name="raw")
    # Visibility: the access policy's answers when indexed.
    for name in ("public", "grantable"):
        sb.add_text_field(name, tokenizer_name="raw", index_option="basic")
    return sb.build()


def to_document(record: Record) -> tantivy.Document:
    t = thresholds(record.update_frequency, record.last_update)
    updated = record.data_updated_at or record.created_at
    keywords = " ".join([*record.tags, record.category, record.agency_name, record.agency]).strip()
    columns = " ".join(f"{c.name} {c.display_name} {c.description}" for c in record.columns).strip()
    doc = tantivy.Document(
        id=record.id,
        title=record.title,
        description=record.description or "",
        keywords=keywords,
        columns=columns,
        title_plain=record.title,
        text_plain=f"{record.description or ''} {keywords}",
        title_sort=record.title.casefold()[:200],
        agency=record.agency,
        agency_name=record.agency_name,
        category=record.category or "",
        tag=list(dict.fromkeys(record.tags)),
        frequency=record.update_frequency or "none",
        classification=record.classification,
        high_value="yes" if record.high_value_criteria else "no",
        hv_criteria=list(record.high_value_criteria),
        disaggregated_by=list(dict.fromkeys(record.demographic_dimensions)),
        fresh_kind=t.kind,
        data_updated_at=record.data_updated_at.isoformat() if record.data_updated_at else "",
        # Whose metadata anyone may read: open data, and listed non-public data.
        public="1" if record.open or record.listed else "0",
        grantable="1" if record.grantable else "0",
    )
    # Numbers are added with their types: keyword arguments would guess them.
    doc.add_integer("due_from", t.due_from)
    doc.add_integer("overdue_from", t.overdue_from)
    doc.add_integer("stale_from", t.stale_from)
    doc.add_integer("updated", int(updated.timestamp()) if updated else 0)
    doc.add_unsigned("popularity", max(0, int(record.popularity)))
    return doc


@dataclass(frozen=True)
class Visibility:
    """What an actor may see, in the index's terms: everything (the CDO), or open and listed
    datasets plus those of `agencies` (staff) and `granted` ids (agreements)."""

    everything: bool = False
    agencies: frozenset[str] = frozenset()
    granted: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Hit:
    id: str
    title: str
    description: str
    snippet: str  # HTML: escaped text with the matched words in <mark>
    agency: str
    agency_name: str
    category: str
    tags: list[str]
    update_frequency: str | None
    freshness: str
    data_updated_at: dt.datetime | None
    classification: str
    high_value_criteria: list[str]
    disaggregated_by: list[str]
    popularity: int
    score: float
    url: str


@dataclass
class SearchResult:
    total: int
    hits: list[Hit]
    facets: dict[str, list[tuple[str, str, int]]]
    corrected_query: str | None = None
    page: int = 1
    page_size: int = 20
    sort: str = "relevance"
    query: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)


def facet_label(facet: str, value: str, agency_names: dict[str, str]) -> str:
    if facet == "agency":
        return agency_names.get(value) or value
    if facet == "frequency":
        if value == "none":
            return "no schedule given"
        return FREQUENCY_NAMES.get(value, value)
    if facet == "classification":
        return value.capitalize() if value in CLASSIFICATION_MEANINGS else value
    if facet == "high_value":
        return "High-value data" if value == "yes" else "Not high-value"
    if facet == "disaggregated_by":
        return DEMOGRAPHIC_DIMENSIONS.get(value, value)
    if facet == "freshness":
        return value.capitalize()
    return value


def _distance_for(word: str) -> int:
    """Edits allowed for a misspelled word: none for short words, one, two for long ones."""
    if len(word) < 4:
        return 0
    return 1 if len(word) < 8 else 2


def damerau(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance, giving up (limit + 1) past `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


@dataclass
class _Word:
    text: str  # as typed, lowercased
    term: str  # the index term (stemmed)
    plain: str  # lowercased, accents folded, not stemmed
    fuzzy: bool = False


def query_words(q: str) -> list[_Word]:
    """The words of a query, as index terms; stopwords are dropped when others remain."""
    words: list[_Word] = []
    for match in _WORD.finditer(q or ""):
        text = match.group(0).casefold()
        term = stem(text)
        if term is None or any(w.term == term for w in words):
            continue
        words.append(_Word(text, term, plain(text) or text))
        if len(words) >= MAX_WORDS * 2:
            break
    meaningful = [w for w in words if w.text not in STOPWORDS]
    return (meaningful or words)[:MAX_WORDS]


@dataclass
class _Match:
    found: tantivy.SearchResult
    words: list[_Word]
    text: Query | None
    hidden: Query | None
    main: Query


class Engine:
    """One opened index: add and remove records, and search."""

    def __init__(self, path: Path | None, facet_cache: int = 512) -> None:
        self.schema = build_schema()
        if path is None:
            self.index = tantivy.Index(self.schema)
        else:
            path.mkdir(parents=True, exist_ok=True)
            self.index = tantivy.Index(self.schema, path=str(path), reuse=True)
        self.index.register_tokenizer(ANALYZER, analyzer())
        self.index.register_tokenizer(PLAIN, plain_analyzer())
        self.agency_names: dict[str, str] = {}
        # Facet counts of recent searches (the same words, filters and viewer; another page
        # or sort), until the index changes: the browse page without words counts every
        # dataset, and paging through it should not count them again.
        self._facet_cache: OrderedDict[tuple, dict] = OrderedDict()
        self._facet_cache_size = facet_cache
        self._cache_lock = threading.Lock()
        self._version = 0

    # -- writing -----------------------------------------------------------------------

    def write(self, records: list[Record], delete_ids: list[str] = (), clear: bool = False) -> None:
        """Replace the given records (and delete `delete_ids`) in one commit."""
        writer = self.index.writer(64_000_000, 1)
        try:
            if clear:
                writer.delete_all_documents()
            for dataset_id in [*delete_ids, *(r.id for r in records)]:
                if not clear:
                    writer.delete_documents_by_term("id", dataset_id)
            for record in records:
                writer.add_document(to_document(record))
            writer.commit()
        except BaseException:
            writer.rollback()
            raise
        finally:
            # Releases the index's writer lock and waits for merges to finish.
            writer.wait_merging_threads()
        self.reload()

    def reload(self) -> None:
        self.index.reload()
        with self._cache_lock:
            self._version += 1
            self._facet_cache.clear()
        self._load_agency_names()

    def _load_agency_names(self) -> None:
        searcher = self.index.searcher()
        agg = searcher.aggregate(
            Query.all_query(), {"a": {"terms": {"field": "agency", "size": AGG_SIZE}}}
        )
        names: dict[str, str] = {}
        for bucket in agg["a"]["buckets"]:
            code = bucket["key"]
            found = searcher.search(Query.term_query(self.schema, "agency", code), 1)
            if found.hits:
                names[code] = (searcher.doc(found.hits[0][1]).get_first("agency_name")) or code
        self.agency_names = names

    def ids(self) -> set[str]:
        searcher = self.index.searcher()
        n = searcher.num_docs
        if n == 0:
            return set()
        found = searcher.search(Query.all_query(), n, count=False)
        return {searcher.doc(address).get_first("id") for _, address in found.hits}

    # -- queries -----------------------------------------------------------------------

    def _term(self, fieldname: str, value: str) -> Query:
        return Query.term_query(self.schema, fieldname, value)

    def hidden_query(self, vis: Visibility) -> Query | None:
        """The datasets `vis` may not see, to leave out of every query. Written as an
        exclusion because most datasets are open: the few hidden ones are a short list to
        skip, where "visible" would be a long one to intersect."""
        if vis.everything:
            return None
        hidden = self._term("public", "0")
        unless = []
        if vis.agencies:
            unless.append(Query.term_set_query(self.schema, "agency", sorted(vis.agencies)))
        if vis.granted:
            unless.append(
                Query.boolean_query(
                    [
                        (Occur.Must, Query.term_set_query(self.schema, "id", sorted(vis.granted))),
                        (Occur.Must, self._term("grantable", "1")),
                    ]
                )
            )
        if not unless:
            return hidden
        return Query.boolean_query([(Occur.Must, hidden), *((Occur.MustNot, q) for q in unless)])

    def _word_query(self, word: _Word) -> Query:
        clauses = []
        if word.fuzzy:
            distance = _distance_for(word.text)
            for name, boost in FUZZY_FIELDS.items():
                q = Query.fuzzy_term_query(self.schema, name, word.plain, distance, True)
                # Fuzzy matches score a constant; keep title matches first among them too.
                clauses.append((Occur.Should, Query.boost_query(q, boost)))
        else:
            for name, boost in TEXT_FIELDS.items():
                q = Query.boost_query(self._term(name, word.term), boost)
                clauses.append((Occur.Should, q))
        return Query.boolean_query(clauses)

    def _freshness_query(self, status: str, as_of: dt.date) -> Query:
        day = day_number(as_of)
        if status in (Freshness.NO_SCHEDULE.value, Freshness.NOT_UPDATED.value):
            return self._term("fresh_kind", status)

        def at_or_before(name: str) -> Query:
            return Query.range_query(self.schema, name, FieldType.Integer, None, day)

        def after(name: str) -> Query:
            return Query.range_query(self.schema, name, FieldType.Integer, day + 1, None)

        parts = {
            Freshness.STALE.value: [at_or_before("stale_from")],
            Freshness.OVERDUE.value: [at_or_before("overdue_from"), after("stale_from")],
            Freshness.DUE.value: [at_or_before("due_from"), after("overdue_from")],
            Freshness.FRESH.value: [self._term("fresh_kind", "scheduled"), after("due_from")],
        }.get(status)
        if parts is None:
            return Query.empty_query()
        return Query.boolean_query([(Occur.Must, p) for p in parts])

    def _filter_query(self, facet: str, values: list[str], as_of: dt.date) -> Query:
        if facet == "freshness":
            qs = [self._freshness_query(v, as_of) for v in values]
        else:
            qs = [self._term(FACET_FIELDS[facet], v) for v in values]
        if len(qs) == 1:
            return qs[0]
        return Query.boolean_query([(Occur.Should, q) for q in qs])

    @staticmethod
    def _and(parts: list[Query | None], hidden: Query | None = None) -> Query:
        """All of `parts` (everything when none), less `hidden`."""
        present = [p for p in parts if p is not None]
        if hidden is None:
            if not present:
                return Query.all_query()
            if len(present) == 1:
                return present[0]
        clauses = [(Occur.Must, p) for p in present] or [(Occur.Must, Query.all_query())]
        if hidden is not None:
            clauses.append((Occur.MustNot, hidden))
        return Query.boolean_query(clauses)

    def _text_query(self, words: list[_Word]) -> Query | None:
        if not words:
            return None
        return self._and([self._word_query(w) for w in words])

    def _count(self, searcher: tantivy.Searcher, query: Query) -> int:
        return searcher.search(query, 1, count=True).count

    def search(
        self,
        q: str,
        vis: Visibility,
        filters: dict[str, list[str]] | None = None,
        sort: str = "relevance",
        page: int = 1,
        page_size: int = 20,
        as_of: dt.date | None = None,
        facets: tuple[str, ...] = FACETS,
    ) -> SearchResult:
        """Search for `q` among what `vis` may see; inputs are assumed checked (see
        `statedata.search.api.search`)."""
        as_of = as_of or dt.datetime.now(dt.UTC).date()
        filters = {k: v for k, v in (filters or {}).items() if v}
        version = self._version  # before the searcher: a reload after it must not be cached
        searcher = self.index.searcher()
        filter_queries = {f: self._filter_query(f, v, as_of) for f, v in filters.items()}
        offset = (page - 1) * page_size
        m = self._match(searcher, q, vis, filter_queries, sort, offset, page_size)
        found, words, text, hidden, main = m.found, m.words, m.text, m.hidden, m.main
        corrected = None
        docs = [(score, searcher.doc(address)) for score, address in found.hits]
        if any(w.fuzzy for w in words) and found.count:
            corrected = self._correction(searcher, main, words, q)
        hits = [self._hit(doc, score, words, as_of) for score, doc in docs]
        key = (
            version,
            tuple((w.term, w.fuzzy) for w in words),
            tuple(sorted((f, tuple(v)) for f, v in filters.items())),
            vis,
            as_of,
            facets,
        )
        with self._cache_lock:
            facet_counts = self._facet_cache.get(key)
            if facet_counts is not None:
                self._facet_cache.move_to_end(key)
        if facet_counts is None:
            facet_counts = self._facets(
                searcher, text, hidden, filter_queries, filters, facets, as_of
            )
            if self._facet_cache_size:
                with self._cache_lock:
                    if key[0] == self._version:
                        self._facet_cache[key] = facet_counts
                        while len(self._facet_cache) > self._facet_cache_size:
                            self._facet_cache.popitem(last=False)
        facet_counts = {f: list(values) for f, values in facet_counts.items()}
        return SearchResult(
            total=found.count,
            hits=hits,
            facets=facet_counts,
            corrected_query=corrected,
            page=page,
            page_size=page_size,
            sort=sort,
            query=q,
            filters=filters,
        )

    def ranked_ids(self, q: str, vis: Visibility, limit: int = MAX_RESULTS) -> list[str]:
        """The ids of what matches `q` (misspellings included), best first."""
        searcher = self.index.searcher()
        found = self._match(searcher, q, vis, {}, "relevance", 0, limit).found
        return [searcher.doc(address).get_first("id") for _, address in found.hits]

    def _match(
        self,
        searcher: tantivy.Searcher,
        q: str,
        vis: Visibility,
        filter_queries: dict[str, Query],
        sort: str,
        offset: int,
        limit: int,
    ) -> _Match:
        hidden = self.hidden_query(vis)
        words = query_words(q)
        text = self._text_query(words)
        main = self._and([text, *filter_queries.values()], hidden)
        found = self._run(searcher, main, words, sort, offset, limit)
        if found.count == 0 and words:
            # Nothing matched: the words nobody may see matches for are taken as misspelled
            # and matched within one or two edits. Counting under the actor's visibility
            # keeps words of hidden datasets from changing the answer.
            retry = False
            for w in words:
                if (
                    _distance_for(w.text)
                    and self._count(searcher, self._and([self._word_query(w)], hidden)) == 0
                ):
                    w.fuzzy = True
                    retry = True
            if retry:
                text = self._text_query(words)
                main = self._and([text, *filter_queries.values()], hidden)
                found = self._run(searcher, main, words, sort, offset, limit)
        return _Match(found, words, text, hidden, main)

    def _run(
        self,
        searcher: tantivy.Searcher,
        query: Query,
        words: list[_Word],
        sort: str,
        offset: int,
        limit: int,
    ) -> tantivy.SearchResult:
        if sort == "relevance" and not words:
            sort = "views"  # nothing to rank by: the most used first
        if sort == "relevance":
            return searcher.search(query, limit, count=True, offset=offset)
        if sort == "title":
            return searcher.search(
                query,
                limit,
                count=True,
                order_by_field="title_sort",
                offset=offset,
                order=Order.Asc,
            )
        fieldname = "updated" if sort == "updated" else "popularity"
        return searcher.search(
            query, limit, count=True, order_by_field=fieldname, offset=offset, order=Order.Desc
        )

    def _hit(self, doc: tantivy.Document, score: float, words: list[_Word], as_of: dt.date) -> Hit:
        d = doc.to_dict()

        def one(name: str, default: str = "") -> str:
            values = d.get(name) or []
            return values[0] if values else default

        t = FreshnessThresholds(
            one("fresh_kind", "no schedule"),
            int(one("due_from", NEVER)),
            int(one("overdue_from", NEVER)),
            int(one("stale_from", NEVER)),
        )
        description = one("description")
        updated = one("data_updated_at")
        frequency = one("frequency")
        return Hit(
            id=one("id"),
            title=one("title"),
            description=description,
            snippet=snippet(description or one("title"), words),
            agency=one("agency"),
            agency_name=one("agency_name"),
            category=one("category"),
            tags=list(d.get("tag") or []),
            update_frequency=None if frequency in ("", "none") else frequency,
            freshness=status_on(t, as_of),
            data_updated_at=dt.datetime.fromisoformat(updated) if updated else None,
            classification=one("classification"),
            high_value_criteria=list(d.get("hv_criteria") or []),
            disaggregated_by=list(d.get("disaggregated_by") or []),
            popularity=int(one("popularity", 0)),
            score=float(score) if isinstance(score, float) else 0.0,
            url=f"/d/{one('id')}",
        )

    def _correction(
        self, searcher: tantivy.Searcher, query: Query, words: list[_Word], q: str
    ) -> str | None:
        """A did-you-mean: each misspelled word replaced by the nearest word of the datasets
        it matched (only datasets the actor may see are read)."""
        found = searcher.search(query, 20, count=False)
        counts: dict[str, int] = {}
        for _, address in found.hits:
            d = searcher.doc(address).to_dict()
            text = " ".join(
                [*(d.get("title") or []), *(d.get("description") or []), *(d.get("tag") or [])]
            )
            for m in _WORD.finditer(text):
                word = m.group(0).casefold()
                counts[word] = counts.get(word, 0) + 1
        changed = False
        out: list[str] = []
        by_text = {w.text: w for w in words}
        for m in _WORD.finditer(q):
            typed = m.group(0).casefold()
            w = by_text.get(typed)
            if w is None or not w.fuzzy:
                out.append(typed)
                continue
            limit = _distance_for(typed)
            best: tuple[int, int, str] | None = None
            for candidate, n in counts.items():
                distance = damerau(w.plain, plain(candidate) or candidate, limit)
                if distance <= limit and (best is None or (distance, -n) < best[:2]):
                    best = (distance, -n, candidate)
            if best is not None and best[2] != typed:
                out.append(best[2])
                changed = True
            else:
                out.append(typed)
        return " ".join(out) if changed else None

    def _facets(
        self,
        searcher: tantivy.Searcher,
        text: Query | None,
        hidden: Query | None,
        filter_queries: dict[str, Query],
        filters: dict[str, list[str]],
        facets: tuple[str, ...],
        as_of: dt.date,
    ) -> dict[str, list[tuple[str, str, int]]]:
        """Each facet counted under the query and every other facet's filter, but not its
        own, so choosing a value still shows the counts of the others."""
        groups: dict[tuple[str, ...], list[str]] = {}
        for facet in facets:
            others = tuple(sorted(f for f in filter_queries if f != facet))
            groups.setdefault(others, []).append(facet)
        day = day_number(as_of)
        out: dict[str, list[tuple[str, str, int]]] = {}
        for others, members in groups.items():
            query = self._and([text, *(filter_queries[f] for f in others)], hidden)
            spec: dict = {}
            for facet in members:
                if facet == "freshness":
                    spec["fresh_kind"] = {"terms": {"field": "fresh_kind", "size": 10}}
                    for name in ("due_from", "overdue_from", "stale_from"):
                        spec[name] = {"range": {"field": name, "ranges": [{"to": day + 1}]}}
                else:
                    # Only the top values come back, but every segment counts all of its
                    # values (segment_size), so the counts returned are exact.
                    spec[facet] = {
                        "terms": {
                            "field": FACET_FIELDS[facet],
                            "size": FACET_VALUES + 1,  # one more, for datasets with no value
                            "segment_size": AGG_SIZE,
                        }
                    }
            result = searcher.aggregate(query, spec)
            for facet in members:
                if facet == "freshness":
                    counts = _freshness_counts(result)
                else:
                    counts = {b["key"]: int(b["doc_count"]) for b in result[facet]["buckets"]}
                    for value in filters.get(facet, []):
                        if value not in counts:  # chosen, but not among the top values
                            field = FACET_FIELDS[facet]
                            counts[value] = self._count(
                                searcher, self._and([query, self._term(field, value)])
                            )
                out[facet] = self._facet_values(facet, counts, filters.get(facet, []))
        return out

    def _facet_values(
        self, facet: str, counts: dict[str, int], selected: list[str]
    ) -> list[tuple[str, str, int]]:
        counts = {k: v for k, v in counts.items() if v > 0 and k != ""}
        if facet == "freshness":
            ordered = [v for v in FRESHNESS_ORDER if v in counts]
        elif facet == "high_value":
            ordered = [v for v in ("yes", "no") if v in counts]
        else:
            ordered = sorted(counts, key=lambda v: (-counts[v], v))[:FACET_VALUES]
        for value in selected:
            if value not in ordered:
                ordered.append(value)
        return [(v, facet_label(facet, v, self.agency_names), counts.get(v, 0)) for v in ordered]


def _bucket_below(result: dict, name: str) -> int:
    for bucket in result[name]["buckets"]:
        if "from" not in bucket:
            return int(bucket["doc_count"])
    return 0


def _freshness_counts(result: dict) -> dict[str, int]:
    kinds = {b["key"]: int(b["doc_count"]) for b in result["fresh_kind"]["buckets"]}
    scheduled = kinds.get("scheduled", 0)
    # Unscheduled datasets carry NEVER in every threshold, so only scheduled ones are below.
    due_or_later = _bucket_below(result, "due_from")
    overdue_or_later = _bucket_below(result, "overdue_from")
    stale = _bucket_below(result, "stale_from")
    return {
        Freshness.FRESH.value: scheduled - due_or_later,
        Freshness.DUE.value: due_or_later - overdue_or_later,
        Freshness.OVERDUE.value: overdue_or_later - stale,
        Freshness.STALE.value: stale,
        Freshness.NO_SCHEDULE.value: kinds.get(Freshness.NO_SCHEDULE.value, 0),
        Freshness.NOT_UPDATED.value: kinds.get(Freshness.NOT_UPDATED.value, 0),
    }


SNIPPET_CHARS = 240


def snippet(text: str, words: list[_Word]) -> str:
    """An excerpt of `text` around the first matched word, HTML-escaped, with the matched
    words in <mark>."""
    terms = {w.term for w in words if not w.fuzzy}
    fuzzy = [w for w in words if w.fuzzy]
    # A word and its stem share their first letters: most words are passed over unstemmed.
    heads = {t[:3] for t in terms}
    matches: list[tuple[int, int]] = []
    for m in _WORD.finditer(text if terms or fuzzy else ""):
        if matches and m.start() > matches[0][0] + SNIPPET_CHARS:
            break  # past the excerpt
        word = m.group(0).casefold()
        if not fuzzy and word[:3] not in heads:
            continue
        term = stem(word)
        if term is None:
            continue
        if term in terms or any(
            damerau(plain(word) or word, w.plain, _distance_for(w.text)) <= _distance_for(w.text)
            for w in fuzzy
        ):
            matches.append((m.start(), m.end()))
    start = 0
    if matches and matches[0][0] > SNIPPET_CHARS // 3:
        start = text.rfind(" ", 0, matches[0][0] - SNIPPET_CHARS // 4) + 1
    end = min(len(text), start + SNIPPET_CHARS)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    parts: list[str] = ["…" if start > 0 else ""]
    position = start
    for a, b in matches:
        if a < start or b > end:
            continue
        parts.append(html.escape(text[position:a]))
        parts.append(f"<mark>{html.escape(text[a:b])}</mark>")
        position = b
    parts.append(html.escape(text[position:end]))
    if end < len(text):
        parts.append("…")
    return "".join(parts)
