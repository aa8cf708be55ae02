-- The working calendar, birthdays and contacts on Telegram, credit ratings, archive tasks and
-- the record of archive changes.

-- Statutory holidays (off) and make-up working days (working), per date.
CREATE TABLE holidays (
    day       TEXT   PRIMARY KEY,
    year      BIGINT NOT NULL,
    kind      TEXT   NOT NULL CHECK (kind IN ('off', 'working')),
    name      TEXT   NOT NULL,
    festival  TEXT,
    -- 1 while the State Council's schedule is not loaded and the day is our lunar estimate.
    estimated BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX holidays_year ON holidays (year);

ALTER TABLE contacts ADD COLUMN birthday_spec TEXT;
ALTER TABLE contacts ADD COLUMN telegram_id BIGINT;
ALTER TABLE contacts ADD COLUMN locale TEXT;
CREATE UNIQUE INDEX contacts_telegram_id ON contacts (telegram_id);

CREATE TABLE contact_invites (
    code       TEXT   PRIMARY KEY,
    contact_id BIGINT NOT NULL REFERENCES contacts (id),
    created_by BIGINT REFERENCES staff (id),
    created_at BIGINT NOT NULL,
    used_at    BIGINT
);

ALTER TABLE customers ADD COLUMN credit_checked_on TEXT;
ALTER TABLE customers ADD COLUMN credit_expires_on TEXT;
CREATE INDEX customers_credit_expires_on ON customers (credit_expires_on);

CREATE TABLE tasks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT   NOT NULL,
    customer_id BIGINT REFERENCES customers (id),
    staff_id    BIGINT REFERENCES staff (id),
    details     TEXT   NOT NULL DEFAULT '',
    payload     TEXT,
    status      TEXT   NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
    remind_at   BIGINT NOT NULL,
    escalate_at BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    done_at     BIGINT,
    done_by     BIGINT REFERENCES staff (id),
    result      TEXT,
    -- Makes a task the planner creates (a credit re-check, a yearly data check) unique.
    dedupe_key  TEXT   UNIQUE
);
CREATE INDEX tasks_status ON tasks (status);

CREATE TABLE archive_changes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    field       TEXT   NOT NULL,
    old_value   TEXT,
    new_value   TEXT,
    changed_by  BIGINT REFERENCES staff (id),
    task_id     BIGINT REFERENCES tasks (id),
    changed_at  BIGINT NOT NULL
);
CREATE INDEX archive_changes_changed_at ON archive_changes (changed_at);
