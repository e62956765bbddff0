"""Chinese full-text search of published decisions (执法信息网上查询, DISC-9) — the store module.

The portal, the JSON/CSV/Atom outputs and ``bench/portal_search.py`` all search through
:func:`search`, so what the benchmark measures is what the service does.

Why bigrams: Chinese has no spaces, and keywords are often two characters (食品, 罚款). SQLite's FTS5
``trigram`` tokenizer and PostgreSQL's ``pg_trgm`` cannot use their index for a two-character
pattern, so both engines index the same overlapping **bigrams** that we compute here:

- text is NFKC-normalised and lower-cased, then split into runs of CJK characters and runs of
  ``[0-9a-z]``; a CJK run ``ABCD`` gives the tokens ``AB BC CD D`` (bigrams, then its last character),
  an alphanumeric run is one token;
- a query word becomes a *phrase* of the same tokens (consecutive positions), so it matches exactly
  the texts containing it as a substring (alphanumeric runs match from their start); a one-character
  query is a prefix query;
- filters are tokens of the same document (``zall``; ``zb<body hash>``; ``za<action type>``;
  ``zr<region prefix>`` for each tier), so a keyword plus filters is one intersection in the index;
- the document id is the **search key** ``decided_on.toordinal() << 32 | sequence``: ordering by it
  is ordering by decision date (newest first), and a date range is a key range — the index returns
  the newest matches first and stops after one page.

SQLite: an FTS5 contentless table ``publication_fts(terms)`` whose rowid is the search key.
PostgreSQL: ``publication_search(search_key bigint primary key, publication_id, vector tsvector)``
with a GIN index; the tsvector is built here from the same tokens (no text-search parser involved).
Only public entries (published / corrected) are in the index.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from services.common.formats import MASK_CHARS, keywords, without_masked
from services.common.identifiers import is_region_code, region_prefix

PAGE_SIZE = 20
MAX_RESULTS = 1000          # deepest result reachable by paging (narrow the search beyond that)
MAX_WORDS = 5
MAX_WORD_CHARS = 40
FTS_TABLE = "publication_fts"
PG_TABLE = "publication_search"
PUBLIC_STATUSES = ("published", "corrected")

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
_RUN_RE = re.compile(f"([{_CJK}]+)|([0-9a-z]+)")


def normalise(value: str) -> str:
    value = value or ""
    if not unicodedata.is_normalized("NFKC", value):
        value = unicodedata.normalize("NFKC", value)
    return value.lower()


# one pass over the text: a CJK character followed by a CJK character gives the bigram (the second one
# is only looked at), a CJK character at the end of its run gives itself; an alphanumeric run is a word
_TOKEN_RE = re.compile(f"([{_CJK}])(?=([{_CJK}]))?|([0-9a-z]+)")


MAX_TOKEN_CHARS = 64   # an alphanumeric run is indexed by its first 64 characters (queries use at most 40)


def index_tokens(value: str) -> list[str]:
    """Tokens of a text as indexed: CJK bigrams plus each run's last character; alphanumeric words,
    cut at ``MAX_TOKEN_CHARS`` — a PostgreSQL lexeme may not exceed 2,047 bytes, and a pasted hash or
    base64 blob in a decision's facts made the whole decision fail to index (issue 14). Masked fragments
    (138****5678, 3204**********1234) are not indexed: "139" or "3204" never match through them (issue 19)."""
    return [a + b if a else w[:MAX_TOKEN_CHARS] for a, b, w in _TOKEN_RE.findall(normalise(without_masked(value)))]


def body_token(body_id: str) -> str:
    return "zb" + hashlib.sha1(body_id.encode("utf-8")).hexdigest()[:12]


def action_token(action_type: str) -> str:
    return "za" + re.sub(r"[^0-9a-z]", "", action_type.lower())


def region_tokens(region_code: str) -> list[str]:
    """One token per tier prefix (province, city, county, township) of the entry's region."""
    code = region_code or ""
    parts = [code[:2], code[:4], code[:6]] + ([code] if len(code) == 9 else [])
    return ["zr" + p for p in dict.fromkeys(parts) if p]


def region_filter_token(region_code: str) -> str:
    return "zr" + region_prefix(region_code)


def doc_terms(search_text: str, body_id: str, region_code: str, action_type: str) -> str:
    """The terms a public entry is indexed under (stored with the entry to un-index it later)."""
    return " ".join(index_tokens(search_text) + ["zall", body_token(body_id), action_token(action_type)]
                    + region_tokens(region_code))


@dataclass(frozen=True)
class Phrase:
    word: str
    tokens: tuple[str, ...]
    prefix: bool  # the last token is a prefix


def parse_query(q: str | None) -> list[Phrase]:
    """Split the user's keywords (AND) into phrases of index tokens. Spaces and the punctuation people type
    between words — "食品，罚款", "食品、罚款", "食品；罚款" — separate keywords (issue 19)."""
    phrases = []
    for word in keywords(normalise(q or ""))[:MAX_WORDS]:
        word = word[:MAX_WORD_CHARS]
        runs = [m.groups() for m in _RUN_RE.finditer(word)]
        tokens: list[str] = []
        prefix = False
        for i, (cjk, alnum) in enumerate(runs):
            last = i == len(runs) - 1
            if cjk:
                bigrams = [cjk[j:j + 2] for j in range(len(cjk) - 1)]
                if not last:
                    tokens += bigrams + [cjk[-1]]  # the run ends inside the query: its last character is a token
                elif len(cjk) == 1:
                    tokens.append(cjk)
                    prefix = True
                else:
                    tokens += bigrams
            else:
                tokens.append(alnum)
                prefix = last
        if tokens:
            phrases.append(Phrase(word, tuple(tokens), prefix))
    return phrases


def search_key(decided_on: dt.date, sequence: int) -> int:
    return (decided_on.toordinal() << 32) | (sequence & 0xFFFFFFFF)


def key_range(date_from: dt.date | None, date_to: dt.date | None) -> tuple[int | None, int | None]:
    lo = (date_from.toordinal() << 32) if date_from else None
    hi = (((date_to.toordinal() + 1) << 32) - 1) if date_to else None
    return lo, hi


@dataclass(frozen=True)
class SearchRequest:
    q: str | None = None
    body_id: str | None = None
    region_code: str | None = None
    action_type: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    page: int = 1
    page_size: int = PAGE_SIZE
    sort: str = "date"       # "date": newest decision first; "amount": largest fine first (issue 19)


SORTS = ("date", "amount")


@dataclass(frozen=True)
class SearchPage:
    keys: list[int]          # search keys of this page, newest first (or by amount)
    has_more: bool
    offset: int
    phrases: list[Phrase]
    total: int = 0           # matches, counted up to MAX_RESULTS + 1 ("共 N 条"; more than MAX_RESULTS: "超过")


class SearchError(ValueError):
    """The request cannot be answered (message in Chinese)."""


def _fts_expression(phrases: list[Phrase], filters: list[str]) -> str:
    parts = ['"' + " ".join(p.tokens) + '"' + (" *" if p.prefix else "") for p in phrases]
    parts += filters
    return " AND ".join(parts or ["zall"])


def _tsquery(phrases: list[Phrase], filters: list[str]) -> str:
    parts = []
    for p in phrases:
        quoted = [f"'{t}'" for t in p.tokens]
        if p.prefix:
            quoted[-1] += ":*"
        parts.append("(" + " <-> ".join(quoted) + ")")
    parts += [f"'{f}'" for f in filters]
    return " & ".join(parts or ["'zall'"])


def _filters(req: SearchRequest) -> list[str]:
    filters = []
    if req.body_id:
        filters.append(body_token(req.body_id))
    if req.region_code:
        if not is_region_code(req.region_code):
            raise SearchError("行政区划代码应为6位或9位数字")
        filters.append(region_filter_token(req.region_code))
    if req.action_type:
        filters.append(action_token(req.action_type))
    return filters


def search(session: Session, req: SearchRequest) -> SearchPage:
    """Search keys of one page of public entries matching ``req``, newest decision first (or, with
    ``sort="amount"``, largest fine first among the newest ``MAX_RESULTS`` matches), and how many match
    (counted up to ``MAX_RESULTS + 1``: bounded work whatever the number of decisions)."""
    page = max(1, int(req.page or 1))
    size = max(1, min(int(req.page_size or PAGE_SIZE), 10_000))
    offset = (page - 1) * size
    if req.sort not in SORTS:
        raise SearchError("排序方式应为按日期或按金额")
    if offset >= MAX_RESULTS and size <= PAGE_SIZE:
        raise SearchError(f"最多可翻阅前{MAX_RESULTS}条结果，请增加关键词或筛选条件缩小范围")
    phrases = parse_query(req.q)
    if req.q and req.q.strip() and not phrases:
        return SearchPage([], False, offset, phrases)  # only punctuation: nothing can match
    filters = _filters(req)
    lo, hi = key_range(req.date_from, req.date_to)
    if lo is not None and hi is not None and lo > hi:
        return SearchPage([], False, offset, phrases)
    if req.sort == "amount":
        return _by_amount(session, req, phrases, filters, lo, hi, offset, size)
    keys = _keys(session, phrases, filters, lo, hi, size + 1, offset)
    has_more = len(keys) > size
    if has_more or (offset and not keys):     # the count is needed beyond this page: at most MAX_RESULTS + 1
        total = _keys(session, phrases, filters, lo, hi, MAX_RESULTS + 1, 0, count=True)
    else:
        total = offset + len(keys)
    return SearchPage(keys[:size], has_more, offset, phrases, total)


def _by_amount(session, req, phrases, filters, lo, hi, offset, size) -> SearchPage:
    """Largest fine first among the newest MAX_RESULTS matches (the ones paging can reach): one SQL
    ordering over at most MAX_RESULTS rows, no per-row work here."""
    matches = _keys(session, phrases, filters, lo, hi, MAX_RESULTS + 1, 0)
    total = len(matches)
    reachable = matches[:MAX_RESULTS]
    if not reachable:
        return SearchPage([], False, offset, phrases, total)
    numeric = "REAL" if session.get_bind().dialect.name == "sqlite" else "NUMERIC"
    params = {f"k{i}": k for i, k in enumerate(reachable)}
    sql = (f"SELECT search_key FROM publications WHERE search_key IN ({', '.join(':' + name for name in params)}) "
           f"ORDER BY CAST(NULLIF(fine_amount, '') AS {numeric}) DESC NULLS LAST, search_key DESC "
           f"LIMIT :n OFFSET :o")
    keys = [row[0] for row in session.execute(text(sql), {**params, "n": size + 1, "o": offset})]
    return SearchPage(keys[:size], len(keys) > size, offset, phrases, total)


def _keys(session, phrases, filters, lo, hi, n: int, offset: int, count: bool = False):
    """Up to ``n`` search keys of the matches from ``offset`` on, newest first (``count``: how many)."""
    bounds, params = [], {"n": n, "o": offset}
    dialect = session.get_bind().dialect.name
    key = "rowid" if dialect == "sqlite" else "search_key"
    if lo is not None:
        bounds.append(f"{key} >= :lo")
        params["lo"] = lo
    if hi is not None:
        bounds.append(f"{key} <= :hi")
        params["hi"] = hi
    extra = "".join(" AND " + b for b in bounds)
    if dialect == "sqlite":
        # FTS5 walks the doclists newest rowid first and stops after one page, whatever the selectivity
        params["m"] = _fts_expression(phrases, filters)
        sql = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :m{extra} ORDER BY rowid DESC LIMIT :n OFFSET :o"
        if count:
            return session.execute(text(f"SELECT count(*) FROM ({sql})"), params).scalar()
        return [row[0] for row in session.execute(text(sql), params)]
    params["m"] = _tsquery(phrases, filters)
    keys = _pg_search(session, params, extra, count=count)
    return len(keys) if count else keys


# a search is a short interactive query: parallel workers and JIT cost more to start than they save (one
# statement, one round trip; ``is_local``: for this transaction only)
_PG_INTERACTIVE = "SELECT set_config('max_parallel_workers_per_gather', '0', true), set_config('jit', 'off', true)"
_PG_GIN_ONLY = "SELECT set_config('enable_seqscan', 'off', true), set_config('enable_indexscan', 'off', true)"
_PG_ANY_SCAN = "SELECT set_config('enable_seqscan', 'on', true), set_config('enable_indexscan', 'on', true)"
PG_RECENT_WINDOW = 5_000
# Rows a walk in key order may test before the GIN index is the cheaper way (measured on 1M decisions,
# bench/portal_search.py: a walk tests ~0.6 µs a row from the cache; the GIN path costs a heap fetch and a
# recheck per candidate, ~3–20 µs, and its candidates come in physical order, oldest first). A date range
# bounds a walk by itself, and the GIN path pays for the candidates outside the range: a larger walk then.
PG_WALK_LIMIT = 40_000
PG_RANGE_WALK_LIMIT = 100_000
WALK_MARGIN = 1.5           # the newest window's share of matches is an estimate: walk half as far again


def _pg_search(session: Session, params: dict, extra: str, count: bool = False) -> list[int]:
    """PostgreSQL, with the plan chosen from what the newest entries show rather than from the planner's
    estimate of a phrase's selectivity (poor for bigram phrases: 359 estimated, 71,052 found):

    1. walk the newest ``PG_RECENT_WINDOW`` entries (in the date range) in key order — primary key,
       backwards — testing each against the query; a frequent word fills the page here;
    2. too few matches there: their share tells how far a walk must go to find the ``offset + n`` wanted;
       if that is at most ``PG_WALK_LIMIT`` rows (``PG_RANGE_WALK_LIMIT`` within a date range), walk that far
       (the common word under a narrow filter, and the count up to ``MAX_RESULTS + 1`` of a common word);
    3. otherwise (a rare word, or none in the newest window) ask the GIN index: a count needs no order, so
       it stops at the ``n``-th candidate; a page sorts all matches — rare means few.
    """
    session.execute(text(_PG_INTERACTIVE))
    where = extra[len(" AND "):]
    n, offset = params["n"], params["o"]
    wanted = offset + n
    keys = _pg_walk(session, params, where, PG_RECENT_WINDOW, wanted)
    if len(keys) >= wanted:
        return keys[offset:]
    walked = session.execute(text(f"SELECT count(*) FROM {_newest(where, PG_RECENT_WINDOW)}"), params).scalar()
    if walked < PG_RECENT_WINDOW:
        return keys[offset:]          # the window held every entry (of the range): nothing more to find
    if keys:
        rows = wanted * PG_RECENT_WINDOW / len(keys) * WALK_MARGIN
        if rows <= (PG_RANGE_WALK_LIMIT if where else PG_WALK_LIMIT):
            keys = _pg_walk(session, params, where, int(rows), wanted)
            if len(keys) >= wanted:
                return keys[offset:]
    return _pg_gin(session, params, extra, count)


def _pg_gin(session: Session, params: dict, extra: str, count: bool) -> list[int]:
    """The matches through the GIN index (a bitmap scan): a count stops at the ``n``-th candidate, a page
    sorts every match."""
    session.execute(text(_PG_GIN_ONLY))
    try:
        if count:
            sql = f"SELECT search_key FROM {PG_TABLE} WHERE vector @@ CAST(:m AS tsquery){extra} LIMIT :n"
        else:
            sql = (f"SELECT search_key FROM {PG_TABLE} WHERE vector @@ CAST(:m AS tsquery){extra} "
                   f"ORDER BY search_key DESC LIMIT :n OFFSET :o")
        return [row[0] for row in session.execute(text(sql), params)]
    finally:
        session.execute(text(_PG_ANY_SCAN))


def _pg_walk(session: Session, params: dict, where: str, rows: int, wanted: int) -> list[int]:
    """The first ``wanted`` matches among the newest ``rows`` entries (of the range), newest first."""
    sql = (f"SELECT search_key FROM {_newest(where, rows)} "
           f"WHERE vector @@ CAST(:m AS tsquery) ORDER BY search_key DESC LIMIT {int(wanted)}")
    return [row[0] for row in session.execute(text(sql), params)]


def _newest(where: str, rows: int) -> str:
    """The newest ``rows`` entries (of the range ``where``), in key order: the primary key walked backwards."""
    return (f"(SELECT search_key, vector FROM {PG_TABLE}{' WHERE ' + where if where else ''} "
            f"ORDER BY search_key DESC LIMIT {int(rows)}) newest")


def load_page(session: Session, model, page: SearchPage) -> list:
    """The publication rows of a page, in the page's order."""
    if not page.keys:
        return []
    rows = session.scalars(select(model).where(model.search_key.in_(page.keys))).all()
    by_key = {r.search_key: r for r in rows}
    return [by_key[k] for k in page.keys if k in by_key]


# --- writing the index ------------------------------------------------------------------------------
def next_sequence(session: Session, counter_model, name: str = "search_key") -> int:
    """An atomic per-database sequence (row-locked on PostgreSQL; SQLite writes are serialised)."""
    return next_sequences(session, counter_model, 1, name)[0]


def tsvector_literal(terms: str) -> str:
    """A tsvector in PostgreSQL's input syntax, positions 1…n in token order (max 16383)."""
    return " ".join(f"'{tok}':{min(i, 16383)}" for i, tok in enumerate(terms.split(), 1))


PENDING_INDEX = "disclosure.pending_index"   # session.info key: index rows written before the commit


def next_sequences(session: Session, counter_model, n: int, name: str = "search_key") -> list[int]:
    """``n`` consecutive values of the sequence in one statement (a batch of decisions)."""
    if n <= 0:
        return []
    updated = session.execute(update(counter_model).where(counter_model.name == name)
                              .values(value=counter_model.value + n).returning(counter_model.value)).scalar()
    if updated is None:
        session.add(counter_model(name=name, value=n))
        session.flush()
        updated = n
    return list(range(int(updated) - n + 1, int(updated) + 1))


def add_to_index(session: Session, key: int, publication_id: str, terms: str) -> None:
    """Index a publication now, or — when a batch collects index rows (``PENDING_INDEX`` in the
    session's info) — with the batch's other rows in one statement before its commit."""
    pending = session.info.get(PENDING_INDEX)
    if pending is not None:
        pending.append((key, publication_id, terms))
        return
    _insert_index(session, [(key, publication_id, terms)])


def flush_pending_index(session: Session) -> None:
    """Write the index rows a batch collected (before its commit, and before any removal)."""
    pending = session.info.get(PENDING_INDEX)
    if pending:
        _insert_index(session, list(pending))
        pending.clear()


def _insert_index(session: Session, rows: list[tuple[int, str, str]]) -> None:
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text(f"INSERT INTO {FTS_TABLE}(rowid, terms) VALUES (:k, :t)"),
                        [{"k": k, "t": t} for k, _, t in rows])
    else:
        session.execute(text(f"INSERT INTO {PG_TABLE}(search_key, publication_id, vector) "
                             f"VALUES (:k, :p, CAST(:v AS tsvector))"),
                        [{"k": k, "p": p, "v": tsvector_literal(t)} for k, p, t in rows])


def remove_from_index(session: Session, key: int, terms: str) -> None:
    flush_pending_index(session)      # a row added earlier in the batch must be there to remove
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, terms) VALUES ('delete', :k, :t)"),
                        {"k": key, "t": terms})
    else:
        session.execute(text(f"DELETE FROM {PG_TABLE} WHERE search_key = :k"), {"k": key})


def bulk_add(connection, rows, literals=None) -> None:
    """Index many entries at once: ``rows`` = iterable of (search_key, publication_id, terms).

    Used by the migration's back-fill and the benchmark's loader; a plain DBAPI/SQLAlchemy
    connection (no ORM session), executemany on SQLite, COPY on PostgreSQL. ``literals`` may carry
    the rows' ``tsvector_literal(terms)`` computed beforehand (e.g. in parallel).
    """
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"INSERT INTO {FTS_TABLE}(rowid, terms) VALUES (?, ?)",
                                   [(k, t) for k, _, t in rows])
        return
    raw = connection.connection.dbapi_connection
    with raw.cursor() as cur:
        with cur.copy(f"COPY {PG_TABLE} (search_key, publication_id, vector) FROM STDIN") as copy:
            chunk = []
            literals = iter(literals) if literals is not None else None
            for k, p, t in rows:  # text format; tokens are CJK / [0-9a-z] only, ids are escaped
                vector = next(literals) if literals is not None else tsvector_literal(t)
                chunk.append(f"{k}\t{copy_escape(p)}\t{vector}\n")
                if len(chunk) >= 5000:
                    copy.write("".join(chunk))
                    chunk.clear()
            if chunk:
                copy.write("".join(chunk))


def reindex_masked(connection, batch: int = 500) -> int:
    """Re-index the entries whose stored terms still hold tokens of masked fragments (issue 19): entries
    indexed before masked fragments were left out (index_tokens) kept "139" / "3204" from 139****5678 and
    3204**********1234, so those searches still matched them. Only texts with a mask character can differ;
    each such entry's terms are computed again and, where they changed, its index row is replaced (SQLite's
    contentless FTS5 needs the old terms to delete) and the new terms stored. Walks the table in
    ``batch``-sized slices by publication id; run by migration 0011; returns how many entries changed."""
    likes = " OR ".join(f"search_text LIKE :m{i}" for i in range(len(MASK_CHARS)))
    params: dict = {f"m{i}": f"%{c}%" for i, c in enumerate(MASK_CHARS)}
    sqlite = connection.dialect.name == "sqlite"
    after, changed = None, 0
    while True:
        rows = connection.execute(text(
            "SELECT publication_id, search_key, search_text, body_id, region_code, action_type, status, search_terms "
            f"FROM publications WHERE ({likes}){' AND publication_id > :after' if after is not None else ''} "
            "ORDER BY publication_id LIMIT :n"), {**params, "after": after, "n": batch}).all()
        if not rows:
            return changed
        after = rows[-1][0]
        for pid, key, search_text, body_id, region, action, status, old in rows:
            terms = doc_terms(search_text or "", body_id, region, action)
            if terms == old:
                continue
            connection.execute(text("UPDATE publications SET search_terms = :t WHERE publication_id = :p"),
                               {"t": terms, "p": pid})
            changed += 1
            if status not in PUBLIC_STATUSES or key is None:
                continue
            if sqlite:
                if old is not None:
                    connection.execute(text(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, terms) "
                                            "VALUES ('delete', :k, :t)"), {"k": key, "t": old})
                connection.execute(text(f"INSERT INTO {FTS_TABLE}(rowid, terms) VALUES (:k, :t)"), {"k": key, "t": terms})
            else:
                connection.execute(text(f"UPDATE {PG_TABLE} SET vector = CAST(:v AS tsvector) WHERE search_key = :k"),
                                   {"k": key, "v": tsvector_literal(terms)})
                if old is None:
                    connection.execute(text(f"INSERT INTO {PG_TABLE}(search_key, publication_id, vector) "
                                            f"SELECT :k, :p, CAST(:v AS tsvector) WHERE NOT EXISTS "
                                            f"(SELECT 1 FROM {PG_TABLE} WHERE search_key = :k)"),
                                       {"k": key, "p": pid, "v": tsvector_literal(terms)})


def copy_escape(value) -> str:
    """A value in PostgreSQL COPY text format."""
    if value is None:
        return "\\N"
    return (str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


# --- schema (called by migration 0002) --------------------------------------------------------------
def create_index_schema(connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.execute(text(f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
                                "terms, content='', columnsize=0, tokenize='unicode61 remove_diacritics 0')"))
    else:
        connection.execute(text(f"CREATE TABLE IF NOT EXISTS {PG_TABLE} (search_key bigint PRIMARY KEY, "
                                "publication_id varchar(64) NOT NULL, vector tsvector NOT NULL)"))
        connection.execute(text(f"ALTER TABLE {PG_TABLE} ALTER COLUMN vector SET STATISTICS 1000"))
        connection.execute(text(f"CREATE INDEX IF NOT EXISTS ix_{PG_TABLE}_vector ON {PG_TABLE} USING gin (vector)"))


def drop_index_schema(connection) -> None:
    table = FTS_TABLE if connection.dialect.name == "sqlite" else PG_TABLE
    connection.execute(text(f"DROP TABLE IF EXISTS {table}"))


__all__ = ["SearchRequest", "SearchPage", "SearchError", "search", "load_page", "doc_terms", "parse_query",
           "index_tokens", "search_key", "next_sequence", "next_sequences", "add_to_index", "flush_pending_index",
           "remove_from_index", "bulk_add",
           "create_index_schema", "drop_index_schema"]


def optimize_index(connection) -> None:
    """Merge the FTS5 segments into one (after a bulk load; SQLite only — PostgreSQL needs VACUUM ANALYZE)."""
    if connection.dialect.name == "sqlite":
        connection.execute(text(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')"))
