#!/usr/bin/env python3
"""What the senders' claim statement costs, by the shape of the queue, and a check that the
claims of both backends choose what the row-by-row claim chooses.

Three statements, the selects of `storage::outbox::claim_many` and the one they replaced:

- "rows" (`ROWS` below): the claim on SQLite until 2026-12-01 and on PostgreSQL until
  2026-12-06. It looks at every waiting row and asks of each whether an earlier row of its
  chat is waiting or in flight: the plainest statement of what a claim chooses, kept here as
  the reference the others are checked against;
- "chats": SQLite's claim since (`CHAT_BY_CHAT`, read from the source), which takes the chats
  with messages queued from the queue index and, of each chat with nothing in flight, its
  first due message;
- "heads": PostgreSQL's claim since (`HEADS`, read from the source), which reads each
  chat's first due message in one pass over the waiting rows (`DISTINCT ON`).

Each is run on an outbox of 10,000 sent rows and one of four queues: two chats with 1,000
messages each (the alerts of a wave of complaints for two members of staff), 2,000 chats with
5 each (`benches/delivery.rs`), 200 chats with 1 each (customers' replies), 20,000 chats with
1 each (a holiday greeting to every customer). Nothing is in flight; 64 rows are asked for, as
64 senders would.

SQLite runs in this process (Python's `sqlite3`, on a file with the migrations of
`migrations/sqlite`); PostgreSQL, when a URL is given, through `psql` with prepared
statements, on a scratch database (`guanxi_claim_cost`) that is dropped at the end.

    python3 benches/claim_cost.py                     # SQLite: rows, chats
    python3 benches/claim_cost.py postgres://postgres@127.0.0.1:5432/test    # PostgreSQL: rows, heads
    python3 benches/claim_cost.py --check             # 3,000 random queues: chats against rows
    python3 benches/claim_cost.py --check postgres://postgres@127.0.0.1:5432/test   # and heads
"""

import contextlib
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
    """The Rust string literal that begins after `start` in `source`: a plain one (no escapes in
    ours) or a raw one, `r#"…"#` (for SQL with quoted names)."""
    at = source.index(start) + len(start)
    quote = source.index('"', at)
    if source[quote - 2 : quote] == "r#":
        return source[quote + 1 : source.index('"#', quote + 1)]
    return source[quote + 1 : source.index('"', quote + 1)]


# The claim of both backends before the ones they run now: every due row whose chat has no
# earlier row waiting or in flight, each chat's first of them, in the claims' order. `$1` now,
# `$3` the wall clock (µs), `$4` how many, `$5` room for candidates.
ROWS = """SELECT d.id FROM (
    SELECT c.id, c.priority, c.next_attempt_at, c.gate_at,
           ROW_NUMBER() OVER (PARTITION BY c.recipient ORDER BY c.priority, c.next_attempt_at, c.id) AS nth
    FROM (SELECT o.id, o.recipient, o.priority, o.next_attempt_at, COALESCE(g.next_at, 0) AS gate_at
          FROM outbox o
          LEFT JOIN send_gate g ON o.channel = 'telegram' AND g.gate = 'tg:' || o.recipient
          WHERE ((o.status = 'pending' AND o.next_attempt_at <= $1)
                 OR (o.status = 'sending' AND o.lease_until <= $1))
            AND o.recipient NOT IN (SELECT f.recipient FROM outbox f
                                    WHERE f.status = 'sending' AND f.lease_until > $1)
            AND NOT EXISTS (SELECT 1 FROM outbox q
                WHERE q.recipient = o.recipient AND q.status IN ('pending', 'sending') AND q.id <> o.id
                  AND ((q.status = 'sending' AND q.lease_until > $1)
                       OR (q.priority = o.priority AND q.id < o.id AND (q.status = 'sending' OR q.next_attempt_at <= $1))))
            AND (g.next_at IS NULL OR g.next_at <= $3)
          ORDER BY o.priority, o.next_attempt_at, COALESCE(g.next_at, 0), o.id
          LIMIT $5 FOR UPDATE OF o SKIP LOCKED) c
) d
WHERE d.nth = 1
ORDER BY d.priority, d.next_attempt_at, d.gate_at, d.id
LIMIT $4"""


def source_statement(name):
    """A statement of `claim_many` read from its source, so that what is timed is what runs."""
    with open(SOURCE, encoding="utf-8") as f:
        return rust_string(f.read(), f"const {name}: &str =")


def sqlite_statements():
    """Rows and chats, as SQLite takes them. Parameters: $1 now, $3 the wall clock (µs), $4 how
    many (chats' limit is written in when it runs; here it is bound), $5 room (rows only)."""
    numbered = lambda sql: re.sub(r"\$(\d+)", r"?\1", sql)  # noqa: E731
    chats = source_statement("CHAT_BY_CHAT") + " LIMIT $4"
    return numbered(ROWS.replace("FOR UPDATE OF o SKIP LOCKED", "")), numbered(chats)


def postgres_statements():
    """Rows and heads, as PostgreSQL takes them (parameters as above)."""
    return ROWS, source_statement("HEADS")


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


@contextlib.contextmanager
def scratch_database(url, name):
    """A fresh database `name` beside the one `url` names, with our migrations; its URL. Dropped
    when done, whatever happened."""
    scratch = re.sub(r"/[^/?]*(\?|$)", rf"/{name}\1", url, count=1)
    psql(url, f"DROP DATABASE IF EXISTS {name};\nCREATE DATABASE {name};\n")
    try:
        for migration in sorted(glob.glob(os.path.join(MIGRATIONS, "postgres", "*.sql"))):
            with open(migration, encoding="utf-8") as f:
                psql(scratch, f.read())
        yield scratch
    finally:
        psql(url, f"DROP DATABASE IF EXISTS {name};\n")


def time_postgres(url):
    with scratch_database(url, "guanxi_claim_cost") as scratch:
        rows_sql, heads_sql = postgres_statements()
        print("| queue | PostgreSQL, rows | PostgreSQL, heads |")
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
                f"PREPARE heads_claim(bigint, bigint, bigint, bigint, bigint) AS {heads_sql};",
                "BEGIN;",
                "\\timing on",
            ]
            # Ten each; the median of the last five (PostgreSQL plans the first five afresh).
            script += [f"EXECUTE rows_claim({NOW}, 0, {10**15}, {LIMIT}, {4 * LIMIT});"] * 10
            script += [f"EXECUTE heads_claim({NOW}, 0, {10**15}, {LIMIT}, {4 * LIMIT});"] * 10
            script += ["\\timing off", "ROLLBACK;", "DEALLOCATE ALL;"]
            times = [float(t) / 1000 for t in re.findall(r"^Time: ([0-9.]+) ms", psql(scratch, "\n".join(script)), re.M)]
            rows_t, heads_t = statistics.median(times[5:10]), statistics.median(times[15:20])
            print(f"| {chats} chats × {per_chat} | {ms(rows_t)} | {ms(heads_t)} |")


def random_queue(trial):
    """Queue `trial` of the check: its rows (id, key, channel, recipient, priority, status,
    next attempt, lease end), its chats' gates, and the claim's limit and wall clock."""
    rng = random.Random(trial)
    chats = rng.randint(1, 6)
    rows = []
    for i in range(rng.randint(0, 25)):
        status = rng.choice(["pending", "pending", "pending", "sending", "sent", "dead"])
        channel = rng.choice(["telegram", "telegram", "email"])
        who = str(rng.randint(1, chats))
        recipient = who if channel == "telegram" else f"{who}@example.com"
        lease = rng.choice([98, 102]) if status == "sending" else None
        rows.append((i + 1, f"k{i}", channel, recipient, rng.randint(0, 1), status, rng.randint(95, 105), lease))
    gates = [(f"tg:{chat}", rng.choice([0, 5, 10, 20])) for chat in range(1, chats + 1) if rng.random() < 0.6]
    return rows, gates, rng.randint(1, 5), rng.choice([0, 5, 10, 20])


def check(url=None, trials=3000):
    """The claims on random queues (several chats, both priorities, rows sent, dead, due later,
    in flight under a live or a lapsed lease, e-mails, gates booked ahead or not): SQLite's
    chats and, with a URL, PostgreSQL's heads choose the same rows in the same order as rows,
    or the first difference. Rows carry their ids, so both databases number them alike."""
    rows_sql, chats_sql = sqlite_statements()
    insert = INSERT.replace("(idem_key", "(id, idem_key").replace("VALUES (?", "VALUES (?, ?")
    queues = [random_queue(trial) for trial in range(trials)]
    chosen = []
    with tempfile.TemporaryDirectory() as dir:
        conn = sqlite_db(os.path.join(dir, "check.db"))
        for trial, (rows, gates, limit, clock) in enumerate(queues):
            conn.execute("DELETE FROM outbox")
            conn.execute("DELETE FROM send_gate")
            for id, key, channel, recipient, priority, status, due, lease in rows:
                conn.execute(insert, (id, key, channel, recipient, "b", priority, status, due, lease))
            conn.executemany("INSERT INTO send_gate VALUES (?, ?, 0, 0)", gates)
            by_rows = [r[0] for r in conn.execute(rows_sql, (100, None, clock, limit, 4 * limit))]
            by_chats = [r[0] for r in conn.execute(chats_sql, (100, None, clock, limit))]
            if by_rows != by_chats:
                sys.exit(f"queue {trial}: rows chose {by_rows}, chats chose {by_chats}")
            chosen.append(by_rows)
    print(f"{trials} random queues, SQLite: chats chose what rows chose, in the same order")
    if url:
        check_heads(url, queues, chosen)


def check_heads(url, queues, chosen):
    """PostgreSQL's heads on the same `queues` as [`check`]: what rows chose (`chosen`)."""
    with scratch_database(url, "guanxi_claim_check") as scratch:
        _, heads_sql = postgres_statements()
        script = [f"PREPARE heads(bigint, bigint, bigint, bigint, bigint) AS {heads_sql};", "\\pset format unaligned", "\\t on"]
        for trial, (rows, gates, limit, clock) in enumerate(queues):
            script += ["BEGIN;", "DELETE FROM outbox;", "DELETE FROM send_gate;"]
            for id, key, channel, recipient, priority, status, due, lease in rows:
                script.append(
                    "INSERT INTO outbox (id, idem_key, channel, recipient, body, priority, status, attempts, fence, "
                    f"next_attempt_at, lease_until, created_at) VALUES ({id}, '{key}', '{channel}', '{recipient}', 'b', "
                    f"{priority}, '{status}', 0, 0, {due}, {'NULL' if lease is None else lease}, 0);"
                )
            script += [f"INSERT INTO send_gate VALUES ('{gate}', {at}, 0, 0);" for gate, at in gates]
            # Room for no more candidates than asked for: nothing else holds a lock here, so
            # the order in which the candidates are chosen decides alone.
            script += [f"SELECT 'queue {trial}';", f"EXECUTE heads(100, 0, {clock}, {limit}, {limit});", "ROLLBACK;"]
        by_heads, trial = {}, None
        for line in psql(scratch, "\n".join(script)).splitlines():
            if line.startswith("queue "):
                trial = int(line.split()[1])
                by_heads[trial] = []
            elif line.strip():
                by_heads[trial].append(int(line))
        for trial, by_rows in enumerate(chosen):
            if by_heads.get(trial) != by_rows:
                sys.exit(f"queue {trial}: rows chose {by_rows}, PostgreSQL's heads chose {by_heads.get(trial)}")
    print(f"{len(chosen)} random queues, PostgreSQL: heads chose what rows chose, in the same order")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--check"]:
        check(*sys.argv[2:3])
    elif sys.argv[1:]:
        time_postgres(sys.argv[1])
    else:
        time_sqlite()
