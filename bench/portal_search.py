"""Portal search benchmark (DISC-9): p95 latency of a keyword plus a filter over N published decisions.

    python bench/portal_search.py [--rows N] [--pg-url URL] [--queries Q] [--skip-sqlite] [--skip-pg]

Builds the disclosure schema with the service's own migrations, bulk-loads N synthetic published
decisions (executemany on SQLite, COPY on PostgreSQL) indexed with the service's tokenizer, then
runs Q searches through ``services.disclosure.portal.search_publications`` — the function behind
the RPC ``search`` the portal, JSON, CSV and Atom outputs use — and prints::

    BENCH portal_search_p95_sqlite <ms> ms
    BENCH portal_search_p95_pg <ms> ms

SQLite: a file in a temporary directory (the embedded default). PostgreSQL: a fresh database
created on the server of ``--pg-url`` (an admin URL, default postgresql://postgres@127.0.0.1:5432/postgres)
and dropped afterwards.
"""
from __future__ import annotations

import argparse
import multiprocessing
import threading
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ZHIFA_METRICS_DISABLED", "1")

from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from services.common import settings  # noqa: E402
from services.common.db import make_engine  # noqa: E402
from services.common.migrations import upgrade  # noqa: E402
from services.disclosure import portal, search  # noqa: E402

SEED = 20261123
START = dt.date(2024, 1, 1)
DAYS = 1035  # ~ three years of decisions
ACTIONS = [("penalty", 45), ("permit", 25), ("inspection", 10), ("coercive", 8), ("levy", 3), ("confirmation", 3),
           ("benefit", 2), ("adjudication", 1), ("reward", 1), ("compensation", 1), ("requisition", 1)]
CITIES = ["3201", "3202", "3203", "3204", "3205", "3206", "3207", "3208", "3209", "3210", "3211", "3212", "3213"]
CITY_NAMES = ["南京", "无锡", "徐州", "常州", "苏州", "南通", "连云港", "淮安", "盐城", "扬州", "镇江", "泰州", "宿迁"]
DEPTS = [("SCJG", "市场监督管理局", "市监罚"), ("YJ", "应急管理局", "应急罚"), ("ST", "生态环境局", "环罚"),
         ("JT", "交通运输局", "交罚"), ("WJ", "卫生健康委员会", "卫罚"), ("ZJ", "住房和城乡建设局", "建罚"),
         ("XF", "消防救援支队", "消罚"), ("GA", "公安局", "公罚")]
SUBJECTS = ["食品", "药品", "化妆品", "医疗器械", "特种设备", "危险化学品", "建筑工地", "餐饮服务", "网络交易", "价格",
            "广告", "计量器具", "消防设施", "道路运输", "排污许可", "噪声", "扬尘", "固体废物", "烟花爆竹", "生活饮用水",
            "公共场所卫生", "职业病防治", "电动自行车", "燃气", "商品房销售", "物业服务", "出租汽车", "冷链食品", "农药", "兽药"]
ACTS = ["销售过期", "生产不符合安全标准的", "未经许可经营", "未按规定标示", "虚假宣传", "未履行进货查验义务的",
        "超范围经营", "擅自变更", "未建立台账的", "未按期检验的", "违规储存", "无证运输", "超标排放", "未采取防护措施的"]
RARE = ["三聚氰胺", "瘦肉精", "地沟油", "苏丹红", "孔雀石绿", "塑化剂", "吊白块", "工业明胶"]
LAWS = ["《中华人民共和国食品安全法》第一百二十四条", "《中华人民共和国药品管理法》第一百一十七条",
        "《中华人民共和国安全生产法》第九十九条", "《中华人民共和国大气污染防治法》第一百零八条",
        "《中华人民共和国消防法》第六十条", "《中华人民共和国广告法》第五十五条", "《中华人民共和国价格法》第四十条",
        "《中华人民共和国道路运输条例》第六十三条", "《中华人民共和国特种设备安全法》第八十三条",
        "《中华人民共和国行政许可法》第三十八条"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
SHOPS = ["商贸有限公司", "餐饮管理有限公司", "食品店", "超市", "建设工程有限公司", "物流有限公司", "化工有限公司", "药房",
         "汽车运输有限公司", "科技有限公司"]


def weighted(rng, pairs):
    total = sum(w for _, w in pairs)
    x = rng.uniform(0, total)
    for value, w in pairs:
        x -= w
        if x <= 0:
            return value
    return pairs[-1][0]


def bodies():
    out = []
    for ci, city in enumerate(CITIES):
        for county in range(0, 7):  # the city itself and six counties/districts
            region = f"{city}{county:02d}" if county else f"{city}00"
            for code, name, short in DEPTS[: 2 + (ci + county) % 7]:
                place = CITY_NAMES[ci] + ("市" if not county else f"市第{county}区")
                out.append((f"{region}-{code}", place + name, region, CITY_NAMES[ci][0] + short))
    return out


def generate(n: int):
    """N published decisions, sorted by decision date (search keys ascending), deterministic."""
    rng = random.Random(SEED)
    body_list = bodies()
    weights_body = [rng.paretovariate(1.2) for _ in body_list]  # some bodies decide much more than others
    dates = sorted(START + dt.timedelta(days=rng.randrange(DAYS)) for _ in range(n))
    chosen_bodies = rng.choices(body_list, weights=weights_body, k=n)
    rows = []
    for seq, (day, body) in enumerate(zip(dates, chosen_bodies), 1):
        body_id, body_name, region, prefix = body
        action = weighted(rng, ACTIONS)
        subject = rng.choice(SUBJECTS)
        act = rng.choice(ACTS)
        rare = rng.choice(RARE) if rng.random() < 0.002 else ""
        if rng.random() < 0.4:
            party = rng.choice(SURNAMES) + "某"
        else:
            party = CITY_NAMES[rng.randrange(13)] + rng.choice(SURNAMES) + rng.choice("华盛达兴隆泰丰源") + rng.choice(SHOPS)
        category = f"{act}{subject}"
        fine = rng.choice([2000, 5000, 10000, 20000, 50000, 100000, 200000]) if action == "penalty" else None
        facts = (f"经查，当事人{party}于{day.year}年{day.month}月{act}{subject}{rare}，"
                 f"货值金额{rng.randrange(100, 99999)}元，违反了{rng.choice(LAWS)}的规定。")
        conclusion = (f"罚款人民币{fine}元" if fine else
                      rng.choice(["准予许可", "不予许可", "责令限期改正", "查封扣押相关物品", "予以确认", "检查未发现问题"]))
        basis = rng.choice(LAWS)
        decision_no = f"{prefix}〔{day.year}〕{seq % 9000 + 1}号"
        search_text = " ".join([decision_no, category, body_name, party, facts, conclusion, basis])
        key = search.search_key(day, seq)
        rows.append(dict(publication_id=str(uuid.UUID(int=rng.getrandbits(128))), case_id=f"{body_id}-{seq}",
                         decision_no=decision_no, region_code=region, body_id=body_id, body_name=body_name,
                         action_type=action, category=category, decided_on=day,
                         due_on=day + dt.timedelta(days=9), published_on=day + dt.timedelta(days=rng.randrange(1, 12)),
                         parties_public=party, facts_public=facts, conclusion_public=conclusion, legal_basis=basis,
                         fine_amount=f"{fine}.00" if fine else None, search_text=search_text, search_key=key))
    # the service's own tokenizer for every row, on all cores
    with multiprocessing.get_context("fork").Pool(os.cpu_count() or 2) as pool:
        terms = pool.map(_terms, [(r["search_text"], r["body_id"], r["region_code"], r["action_type"]) for r in rows],
                         chunksize=20_000)
    for r, (t, literal) in zip(rows, terms):
        r["search_terms"], r["tsvector"] = t, literal
    return rows, body_list


def _terms(args):
    terms = search.doc_terms(*args)
    return terms, search.tsvector_literal(terms)  # what bulk_add sends to PostgreSQL, made on all cores here


COLUMNS = ["publication_id", "case_id", "decision_no", "region_code", "body_id", "action_type", "category",
           "decided_on", "due_on", "due_provisional", "status", "published_on", "parties_public", "facts_public",
           "conclusion_public", "legal_basis", "fine_amount", "search_text", "history", "updated_at", "search_key",
           "search_terms", "version", "body_name", "conclusion_type", "summary_only", "revision", "corrections",
           "parties_json", "calendar_version"]


def as_tuple(r, now, dialect):
    conclusion_type = "罚款" if r["fine_amount"] else "—"
    parties = '[{"party_kind": "natural", "name": "%s", "id_type": "other", "id_display": ""}]' % r["parties_public"]
    return (r["publication_id"], r["case_id"], r["decision_no"], r["region_code"], r["body_id"], r["action_type"],
            r["category"], r["decided_on"], r["due_on"], False, "published", r["published_on"], r["parties_public"],
            r["facts_public"], r["conclusion_public"], r["legal_basis"], r["fine_amount"], r["search_text"],
            '[{"at": "%s", "actor": "system", "action": "publish", "reason_zh": "依法公开执法决定信息", "revision": 1}]'
            % now.isoformat(), now, r["search_key"], r["search_terms"], 1, r["body_name"], conclusion_type, False, 1, 0,
            parties, "bench")


def phase(label, t0):
    print(f"#   {label}: {time.perf_counter() - t0:.1f} s", flush=True)
    return time.perf_counter()


def load_sqlite(url, rows):
    engine = make_engine(url)
    now = dt.datetime.now(dt.timezone.utc)
    t = time.perf_counter()
    with engine.connect() as conn:  # bulk load: no journal, a large page cache for the FTS5 segment merges
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-1000000"):
            conn.exec_driver_sql(f"PRAGMA {pragma}")
        conn.commit()
    with engine.begin() as conn:
        # secondary indexes are built once after the load, as for PostgreSQL
        indexes = [r[0] for r in conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'publications' AND sql IS NOT NULL")]
        for (name,) in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index' "
                                            "AND tbl_name = 'publications' AND sql IS NOT NULL").all():
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
        placeholders = ",".join("?" * len(COLUMNS))
        sql = f"INSERT INTO publications ({','.join(COLUMNS)}) VALUES ({placeholders})"
        for i in range(0, len(rows), 50_000):
            conn.exec_driver_sql(sql, [as_tuple(r, now, "sqlite") for r in rows[i:i + 50_000]])
        for ddl in indexes:
            conn.exec_driver_sql(ddl)
        t = phase("publications", t)
        for i in range(0, len(rows), 50_000):
            search.bulk_add(conn, [(r["search_key"], r["publication_id"], r["search_terms"]) for r in rows[i:i + 50_000]])
        conn.execute(text("INSERT INTO disclosure_counters (name, value) VALUES ('search_key', :v)"), {"v": len(rows)})
    t = phase("fts", t)
    with engine.begin() as conn:
        search.optimize_index(conn)
        t = phase("optimize", t)
        conn.exec_driver_sql("ANALYZE")
    phase("analyze", t)
    return engine


def load_pg(url, rows):
    engine = make_engine(url)
    now = dt.datetime.now(dt.timezone.utc)
    t = time.perf_counter()
    with engine.begin() as conn:
        # bulk load as a DBA would: the throw-away bench tables are UNLOGGED (no WAL; queries are the same),
        # secondary indexes and the GIN index are built once after the COPY rather than row by row
        conn.exec_driver_sql("ALTER TABLE publications SET UNLOGGED")
        conn.exec_driver_sql(f"ALTER TABLE {search.PG_TABLE} SET UNLOGGED")
        indexes = [r[0] for r in conn.exec_driver_sql(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'publications' AND indexname <> 'publications_pkey'")]
        for name in [r[0] for r in conn.exec_driver_sql(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'publications' AND indexname <> 'publications_pkey'")]:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
        conn.exec_driver_sql(f"DROP INDEX ix_{search.PG_TABLE}_vector")
    # the two tables are copied concurrently, each on its own connection
    def copy_publications():
        with engine.begin() as conn:
            raw = conn.connection.dbapi_connection
            with raw.cursor() as cur:
                with cur.copy(f"COPY publications ({','.join(COLUMNS)}) FROM STDIN") as copy:
                    for i in range(0, len(rows), 5000):
                        copy.write("".join("\t".join(search.copy_escape(v if not isinstance(v, bool) else ("t" if v else "f"))
                                                      for v in as_tuple(r, now, "pg")) + "\n"
                                           for r in rows[i:i + 5000]))

    def copy_index(part):
        with engine.begin() as conn:
            search.bulk_add(conn, ((r["search_key"], r["publication_id"], r["search_terms"]) for r in part),
                            literals=(r["tsvector"] for r in part))

    half = len(rows) // 2
    workers = [threading.Thread(target=copy_publications), threading.Thread(target=copy_index, args=(rows[:half],)),
               threading.Thread(target=copy_index, args=(rows[half:],))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO disclosure_counters (name, value) VALUES ('search_key', :v)"), {"v": len(rows)})
    t = phase("search table", t)
    with engine.begin() as conn:
        conn.exec_driver_sql("SET maintenance_work_mem = '1GB'")
        for ddl in indexes:
            conn.exec_driver_sql(ddl)
        t = phase("publications indexes", t)
        search.create_index_schema(conn)
    t = phase("gin", t)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE publications")
        conn.exec_driver_sql(f"VACUUM ANALYZE {search.PG_TABLE}")
    phase("vacuum analyze", t)
    return engine


def queries(n: int, body_list, rng):
    """Keyword plus filter: common, medium and rare keywords, one or two words, with a body, region,
    action-type or date-range filter."""
    keywords = (SUBJECTS + [a[:4] for a in ACTS] + RARE + ["罚款", "准予许可", "责令限期改正", "食品安全法", "消防法",
                                                            "市场监督", "有限公司", "超标排放 扬尘", "过期 食品", "王某"])
    regions = sorted({b[2] for b in body_list})
    out = []
    for i in range(n):
        req = {"q": rng.choice(keywords), "page": 1 if rng.random() < 0.9 else rng.randint(2, 5)}
        kind = i % 5
        if kind == 0:
            req["body_id"] = rng.choice(body_list)[0]
        elif kind == 1:
            region = rng.choice(regions)
            req["region_code"] = region if rng.random() < 0.5 else region[:4] + "00"
        elif kind == 2:
            req["action_type"] = rng.choice([a for a, _ in ACTIONS])
        elif kind == 3:
            start = START + dt.timedelta(days=rng.randrange(DAYS - 90))
            req["date_from"], req["date_to"] = start, start + dt.timedelta(days=rng.choice([7, 30, 90]))
        else:
            req["action_type"] = "penalty"
            req["region_code"] = rng.choice(regions)[:4] + "00"
        out.append(search.SearchRequest(**req))
    return out


def measure(engine, requests, label, slow=0):
    times, hits = [], 0
    with Session(engine) as session:
        for req in requests[:20]:  # warm-up: page cache, prepared plans
            portal.search_publications(session, req)
        for req in requests:
            t0 = time.perf_counter()
            result = portal.search_publications(session, req)
            times.append((time.perf_counter() - t0) * 1000)
            if slow and times[-1] > slow:
                print(f"#   slow {times[-1]:.0f} ms: {req}", flush=True)
            hits += bool(result["results"])
    times.sort()
    p95 = times[max(0, int(len(times) * 0.95) - 1)]
    print(f"# {label}: {len(times)} queries, {hits} with results, median {statistics.median(times):.1f} ms, "
          f"p95 {p95:.1f} ms, max {times[-1]:.1f} ms", flush=True)
    return p95


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg-url", default=settings.get("ZHIFA_BENCH_PG"))
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--keep-pg", action="store_true", help="do not drop the PostgreSQL database (for EXPLAIN)")
    parser.add_argument("--reuse-pg", default=None, help="measure on an already loaded database URL")
    parser.add_argument("--slow", type=float, default=0, help="print queries slower than this many ms")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    rows, body_list = generate(args.rows)
    print(f"# generated {len(rows)} decisions ({len(body_list)} bodies) in {time.perf_counter() - t0:.1f} s", flush=True)
    requests = queries(args.queries, body_list, random.Random(SEED + 1))

    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory(prefix="zhifa-bench-") as tmp:
            url = f"sqlite:///{tmp}/disclosure.db"
            t1 = time.perf_counter()
            upgrade("disclosure", url)
            engine = load_sqlite(url, rows)
            print(f"# sqlite: loaded in {time.perf_counter() - t1:.1f} s", flush=True)
            p95 = measure(engine, requests, "sqlite")
            engine.dispose()
        print(f"BENCH portal_search_p95_sqlite {p95:.1f} ms", flush=True)

    if args.reuse_pg:
        engine = make_engine(args.reuse_pg)
        p95 = measure(engine, requests, "pg", args.slow)
        print(f"BENCH portal_search_p95_pg {p95:.1f} ms", flush=True)
        return
    if not args.skip_pg:
        import psycopg

        name = f"zhifa_bench_{uuid.uuid4().hex[:8]}"
        admin = psycopg.connect(args.pg_url, autocommit=True, connect_timeout=5)
        admin.execute(f'CREATE DATABASE "{name}"')
        url = args.pg_url.rsplit("/", 1)[0] + "/" + name
        try:
            t1 = time.perf_counter()
            upgrade("disclosure", url)
            engine = load_pg(url, rows)
            print(f"# pg: loaded in {time.perf_counter() - t1:.1f} s", flush=True)
            p95 = measure(engine, requests, "pg", args.slow)
            engine.dispose()
        finally:
            if args.keep_pg:
                print(f"# kept {url}")
            else:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()
        print(f"BENCH portal_search_p95_pg {p95:.1f} ms", flush=True)
    print(f"# total {time.perf_counter() - t0:.1f} s", flush=True)


if __name__ == "__main__":
    main()
