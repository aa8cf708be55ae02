-- Guanxi schema, SQLite dialect. Timestamps are UTC epoch seconds (BIGINT); calendar dates
-- are local 'YYYY-MM-DD' text, which sorts and compares correctly as text.

CREATE TABLE staff (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    telegram_id BIGINT  NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    role        TEXT    NOT NULL CHECK (role IN ('rep', 'service', 'manager', 'director', 'admin')),
    manager_id  BIGINT  REFERENCES staff (id),
    email       TEXT,
    locale      TEXT,
    active      BIGINT  NOT NULL DEFAULT 1,
    created_at  BIGINT  NOT NULL
);

CREATE TABLE invites (
    code       TEXT   PRIMARY KEY,
    role       TEXT   NOT NULL,
    manager_id BIGINT REFERENCES staff (id),
    name       TEXT,
    email      TEXT,
    created_at BIGINT NOT NULL,
    used_at    BIGINT,
    used_by    BIGINT REFERENCES staff (id)
);

CREATE TABLE customers (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    archive_no         TEXT   NOT NULL UNIQUE,
    name               TEXT   NOT NULL,
    tier               TEXT   NOT NULL CHECK (tier IN ('A', 'B', 'C')),
    owner_id           BIGINT REFERENCES staff (id),
    region             TEXT,
    address            TEXT,
    postcode           TEXT,
    phone              TEXT,
    phone_digits       TEXT,
    fax                TEXT,
    email              TEXT,
    website            TEXT,
    industry           TEXT,
    nature             TEXT,
    industry_standing  TEXT,
    main_business      TEXT,
    founded_on         TEXT,
    registered_capital TEXT,
    main_shareholders  TEXT,
    bank               TEXT,
    bank_account       TEXT,
    employees          BIGINT,
    credit_rating      TEXT,
    notes              TEXT,
    created_on         TEXT   NOT NULL,
    last_call_on       TEXT,
    last_visit_on      TEXT,
    next_call_due      TEXT   NOT NULL,
    next_visit_due     TEXT   NOT NULL,
    active             BIGINT NOT NULL DEFAULT 1,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX customers_next_call_due ON customers (next_call_due) WHERE active = 1;
CREATE INDEX customers_next_visit_due ON customers (next_visit_due) WHERE active = 1;
CREATE INDEX customers_owner ON customers (owner_id);
CREATE INDEX customers_name ON customers (name);
CREATE INDEX customers_phone_digits ON customers (phone_digits);

CREATE TABLE contacts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    name        TEXT   NOT NULL,
    position    TEXT,
    phone       TEXT,
    email       TEXT,
    birthday    TEXT,
    education   TEXT,
    hobbies     TEXT,
    family      TEXT,
    notes       TEXT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX contacts_customer ON contacts (customer_id);

CREATE TABLE interactions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    contact_id  BIGINT REFERENCES contacts (id),
    staff_id    BIGINT REFERENCES staff (id),
    kind        TEXT   NOT NULL,
    occurred_at BIGINT NOT NULL,
    occurred_on TEXT   NOT NULL,
    notes       TEXT   NOT NULL,
    source      TEXT   NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX interactions_customer ON interactions (customer_id, occurred_at);

CREATE TABLE escalations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    item_key     TEXT   NOT NULL,
    level        BIGINT NOT NULL,
    customer_id  BIGINT NOT NULL REFERENCES customers (id),
    action       TEXT   NOT NULL,
    due_on       TEXT   NOT NULL,
    recipient_id BIGINT REFERENCES staff (id),
    created_at   BIGINT NOT NULL,
    UNIQUE (item_key, level)
);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    idem_key        TEXT   NOT NULL UNIQUE,
    channel         TEXT   NOT NULL CHECK (channel IN ('telegram', 'email')),
    recipient       TEXT   NOT NULL,
    subject         TEXT,
    body            TEXT   NOT NULL,
    reply_markup    TEXT,
    priority        BIGINT NOT NULL DEFAULT 1,
    status          TEXT   NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'dead')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    fence           BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX outbox_claimable ON outbox (status, priority, next_attempt_at);

CREATE TABLE dialogues (
    chat_id    BIGINT PRIMARY KEY,
    state      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Gapless, transactional numbering (archive numbers; later complaint numbers per day).
CREATE TABLE counters (
    name  TEXT   PRIMARY KEY,
    value BIGINT NOT NULL
);

CREATE TABLE app_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
