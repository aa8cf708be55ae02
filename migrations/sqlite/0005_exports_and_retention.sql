-- Exports of A-tier or confidential data need two approvals; files go to the requester as a
-- Telegram document. Prospects that never became customers are purged with approval.

-- When set, the Telegram message is sent as a document of this name with the body as content.
ALTER TABLE outbox ADD COLUMN attachment_name TEXT;

CREATE TABLE export_requests (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    staff_id       BIGINT NOT NULL REFERENCES staff (id),
    status         TEXT   NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'denied')),
    head_ok_by     BIGINT REFERENCES staff (id),
    director_ok_by BIGINT REFERENCES staff (id),
    created_at     BIGINT NOT NULL,
    done_at        BIGINT
);

-- customer: a deal was made; prospect: not yet; purged: personal data deleted on approval.
ALTER TABLE customers ADD COLUMN status TEXT NOT NULL DEFAULT 'customer';

CREATE TABLE purge_lists (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    month       TEXT   NOT NULL UNIQUE,
    customers   TEXT   NOT NULL,
    status      TEXT   NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'rejected')),
    decided_by  BIGINT REFERENCES staff (id),
    created_at  BIGINT NOT NULL,
    decided_at  BIGINT
);
