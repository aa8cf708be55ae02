#!/usr/bin/env python3
"""What the senders' claim statement costs, by the shape of the queue, and a check that the
chat-by-chat claim chooses what the row-by-row one did.

The two statements are the selects of `storage::outbox::claim_many`, read from its source:

- "rows": the claim on PostgreSQL (and on SQLite until 2026-12-01), which looks at every
  waiting row and asks of each whether an earlier row of its chat is waiting or in flight;
- "chats": the claim on SQLite since, which takes the chats with messages queued from the
  queue index and, of each chat with nothing in flight, its first due message. On
  PostgreSQL it is run as it was tried there (the heads' ids as an array, with SQLite's
  index of the chats in flight created on the scratch database); it was not kept, see
  `BENCHMARKS.md`.

Each is run on an outbox of 10,000 sent rows and one of four queues: two chats with 1,000
messages each (the alerts of a wave of complaints for two members of staff), 2,000 chats with
5 each (`benches/delivery.rs`), 200 chats with 1 each (customers' replies), 20,000 chats with
1 each (a holiday greeting to every customer). Nothing is in flight; 64 rows are asked for, as
64 senders would.

SQLite runs in this process (Python's `sqlite3`, on a file with the migrations of
`migrations/sqlite`); PostgreSQL, when a URL is given, through `psql` with prepared
statements, on a scratch database `guanxi_claim_cost` that is dropped at the end.

    python3 benches/claim_cost.py                     # SQLite
    python3 benches/claim_cost.py postgres://postgres@127.0.0.1:5432/test
    python3 benches/claim_cost.py --check             # 3,000 random queues, both statements
"""

import glob
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MIGRATIONS = os.path.join(HERE, "..", "migrations")
SHAPES = [(2, 1000), (2000, 5), (200, 1), (20000, 1)]
NOW, LIMIT = 1000, 64

SOURCE = os.path.join(HERE, "..", "src", "storage", "outbox.rs")


def rust_string(source, start):
    """The Rust string literal that begins after `start` in `source` (no escapes in ours)."""
    begin = source.index('"', source.index(start)) + 1
    return source[begin : source.index('"', begin)]


def statements():
    """The selects of `claim_many`, read from the source so that what is timed is what runs:
    the chat-by-chat one (SQLite's) and the row-by-row one (PostgreSQL's). Parameters: $1 now,
    $3 the wall clock (µs), $4 how many, $5 room for candidates (row by row only)."""
    with open(SOURCE, encoding="utf-8") as f:
        source = f.read()
    # Its limit is written in when it runs; here it is bound, as the row-by-row one's is.
    chats = rust_string(source, "const CHAT_BY_CHAT: &str =") + " LIMIT $4"
    rows = rust_string(source, "fn row_by_row() -> String {")
    rows = rows.replace("{RECIPIENT_FREE}", rust_string(source, "const RECIPIENT_FREE: &str ="))
    return chats, rows


def sqlite_statements():
    chats, rows = statements()
    numbered = lambda sql: re.sub(r"\$(\d+)", r"?\1", sql)  # noqa: E731
    return numbered(rows.replace("FOR UPDATE OF o SKIP LOCKED", "")), numbered(chats)


def postgres_statements():
    """Row by row as it runs; chat by chat as it was tried there: no index hints, the heads'
    ids as an array, and the lock."""
    chats, rows = statements()
    chats = re.sub(r" INDEXED BY \w+", "", chats)
    chats = chats.replace(
        "FROM heads h JOIN outbox o NOT INDEXED ON o.id = h.id",
        "FROM outbox o",
    ).replace(
        "WHERE ((o.status = 'pending'",
        "WHERE o.id = ANY(ARRAY(SELECT id FROM heads)) AND ((o.status = 'pending'",
    )
    return rows, chats + " FOR UPDATE OF o SKIP LOCKED"


def sqlite_db(path):
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    for migration in sorted(glob.glob(os.path.join(MIGRATIONS, "sqlite", "*.sql"))):
        with open(migration, encoding="utf-8") as f:
            conn.executescript(f.read())
    return conn


INSERT = """INSERT INTO outbox (idem_key, channel, recipient, body, priority, status, attempts, fence,
    next_attempt_at, lease_until, created_at) VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, ?, 0)"""


def fill(conn, chats, per_chat):
    rows = [(f"s{i}", "telegram", str(5_000_000 + i), "sent", 0, "sent", NOW, None) for i in range(10_000)]
    rows += [
        (f"p{c}:{i}", "telegram", str(8_000_000 + c), "queued", 1, "pending", NOW, None)
        for i in range(per_chat)
        for c in range(chats)
    ]
    conn.execute("BEGIN")
    conn.executemany(INSERT, rows)
    conn.execute("COMMIT")


def time_sqlite():
    rows_sql, chats_sql = sqlite_statements()
    print("| queue | SQLite, rows | SQLite, chats |")
    print("|---|---:|---:|")
    for chats, per_chat in SHAPES:
        with tempfile.TemporaryDirectory() as dir:
            conn = sqlite_db(os.path.join(dir, "claim.db"))
            fill(conn, chats, per_chat)
            took = {}
            for name, sql, args in [
                ("rows", rows_sql, (NOW, None, 10**15, LIMIT, 4 * LIMIT)),
                ("chats", chats_sql, (NOW, None, 10**15, LIMIT)),
            ]:
                conn.execute(sql, args).fetchall()
                runs = []
                for _ in range(20):
                    start = time.perf_counter()
                    conn.execute(sql, args).fetchall()
                    runs.append(time.perf_counter() - start)
                took[name] = statistics.median(runs)
            conn.close()
        print(f"| {chats} chats × {per_chat} | {ms(took['rows'])} | {ms(took['chats'])} |")


def ms(seconds):
    return f"{seconds * 1000:.2f} ms"


def psql(url, script):
    done = subprocess.run(
        ["psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-"],
        input=script,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"psql failed: {done.stderr}")
    return done.stdout


def time_postgres(url):
    scratch = re.sub(r"/[^/?]*(\?|$)", r"/guanxi_claim_cost\1", url, count=1)
    psql(url, "DROP DATABASE IF EXISTS guanxi_claim_cost;\nCREATE DATABASE guanxi_claim_cost;\n")
    try:
        for migration in sorted(glob.glob(os.path.join(MIGRATIONS, "postgres", "*.sql"))):
            with open(migration, encoding="utf-8") as f:
                psql(scratch, f.read())
        psql(scratch, "CREATE INDEX outbox_in_flight ON outbox (recipient, lease_until) WHERE status = 'sending';\n")
        rows_sql, chats_sql = postgres_statements()
        print("| queue | PostgreSQL, rows | PostgreSQL, chats |")
        print("|---|---:|---:|")
        for chats, per_chat in SHAPES:
            script = [
                "TRUNCATE outbox;",
                "INSERT INTO outbox (idem_key, channel, recipient, body, priority, status, attempts, fence, "
                "next_attempt_at, created_at) SELECT 's' || i, 'telegram', (5000000 + i)::text, 'sent', 0, "
                f"'sent', 0, 0, {NOW}, 0 FROM generate_series(1, 10000) i;",
                "INSERT INTO outbox (idem_key, channel, recipient, body, priority, status, attempts, fence, "
                "next_attempt_at, created_at) SELECT 'p' || i, 'telegram', "
                f"(8000000 + i % {chats})::text, 'queued', 1, 'pending', 0, 0, {NOW}, 0 "
                f"FROM generate_series(1, {chats * per_chat}) i;",
                "ANALYZE outbox;",
                f"PREPARE rows_claim(bigint, bigint, bigint, bigint, bigint) AS {rows_sql};",
                f"PREPARE chats_claim(bigint, bigint, bigint, bigint) AS {chats_sql};",
                "BEGIN;",
                "\\timing on",
            ]
            # Ten each; the median of the last five (PostgreSQL plans the first five afresh).
            script += [f"EXECUTE rows_claim({NOW}, 0, {10**15}, {LIMIT}, {4 * LIMIT});"] * 10
            script += [f"EXECUTE chats_claim({NOW}, 0, {10**15}, {LIMIT});"] * 10
            script += ["\\timing off", "ROLLBACK;", "DEALLOCATE ALL;"]
            times = [float(t) / 1000 for t in re.findall(r"^Time: ([0-9.]+) ms", psql(scratch, "\n".join(script)), re.M)]
            rows_t, chats_t = statistics.median(times[5:10]), statistics.median(times[15:20])
            print(f"| {chats} chats × {per_chat} | {ms(rows_t)} | {ms(chats_t)} |")
    finally:
        psql(url, "DROP DATABASE IF EXISTS guanxi_claim_cost;\n")


def check():
    """Both statements on random queues (several chats, both priorities, rows sent, dead, due
    later, in flight under a live or a lapsed lease, e-mails, gates booked ahead or not): the
    same rows in the same order, or the first difference."""
    rows_sql, chats_sql = sqlite_statements()
    with tempfile.TemporaryDirectory() as dir:
        conn = sqlite_db(os.path.join(dir, "check.db"))
        for trial in range(3000):
            rng = random.Random(trial)
            conn.execute("DELETE FROM outbox")
            conn.execute("DELETE FROM send_gate")
            chats = rng.randint(1, 6)
            for i in range(rng.randint(0, 25)):
                status = rng.choice(["pending", "pending", "pending", "sending", "sent", "dead"])
                channel = rng.choice(["telegram", "telegram", "email"])
                who = str(rng.randint(1, chats))
                recipient = who if channel == "telegram" else f"{who}@example.com"
                lease = rng.choice([98, 102]) if status == "sending" else None
                conn.execute(
                    INSERT,
                    (f"k{i}", channel, recipient, "b", rng.randint(0, 1), status, rng.randint(95, 105), lease),
                )
            for chat in range(1, chats + 1):
                if rng.random() < 0.6:
                    conn.execute("INSERT INTO send_gate VALUES (?, ?, 0, 0)", (f"tg:{chat}", rng.choice([0, 5, 10, 20])))
            limit, clock = rng.randint(1, 5), rng.choice([0, 5, 10, 20])
            by_rows = [r[0] for r in conn.execute(rows_sql, (100, None, clock, limit, 4 * limit))]
            by_chats = [r[0] for r in conn.execute(chats_sql, (100, None, clock, limit))]
            if by_rows != by_chats:
                sys.exit(f"queue {trial}: rows chose {by_rows}, chats chose {by_chats}")
    print("3000 random queues: the same rows in the same order")


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        check()
    elif sys.argv[1:]:
        time_postgres(sys.argv[1])
    else:
        time_sqlite()
