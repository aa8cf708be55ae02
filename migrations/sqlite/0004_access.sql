-- Customer data is a company secret: every read is logged, access beyond one's role is
-- requested and granted for a day, and customers change hands only through a confirmed
-- handover.

-- Append-only: no command updates or deletes these rows.
CREATE TABLE access_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    staff_id    BIGINT NOT NULL REFERENCES staff (id),
    customer_id BIGINT REFERENCES customers (id),
    levels      TEXT   NOT NULL,
    command     TEXT   NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX access_log_customer ON access_log (customer_id, at);

CREATE TABLE access_requests (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    staff_id    BIGINT NOT NULL REFERENCES staff (id),
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    reason      TEXT   NOT NULL,
    status      TEXT   NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied')),
    decided_by  BIGINT REFERENCES staff (id),
    decided_at  BIGINT,
    expires_at  BIGINT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX access_requests_staff_customer ON access_requests (staff_id, customer_id);

CREATE TABLE handovers (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    from_staff   BIGINT NOT NULL REFERENCES staff (id),
    to_staff     BIGINT NOT NULL REFERENCES staff (id),
    customers    TEXT   NOT NULL,
    deactivate   BIGINT NOT NULL DEFAULT 0,
    requested_by BIGINT NOT NULL REFERENCES staff (id),
    head_ok_by   BIGINT REFERENCES staff (id),
    service_ok_by BIGINT REFERENCES staff (id),
    status       TEXT   NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
    created_at   BIGINT NOT NULL,
    done_at      BIGINT
);
