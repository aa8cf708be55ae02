-- Complaints (客户投诉记录单), their history, departments and the on-duty roster.

CREATE TABLE departments (
    key        TEXT   PRIMARY KEY,
    name_zh    TEXT   NOT NULL,
    name_en    TEXT   NOT NULL,
    head_id    BIGINT REFERENCES staff (id),
    -- 0 for customer service itself (whose head is the service manager), 1 for departments
    -- that complaints are assigned to.
    handles_complaints BIGINT NOT NULL DEFAULT 1,
    position   BIGINT NOT NULL DEFAULT 0
);
INSERT INTO departments (key, name_zh, name_en, handles_complaints, position) VALUES
    ('service', '客户服务部', 'Customer Service', 0, 0),
    ('production', '生产部', 'Production', 1, 1),
    ('quality', '质量管理部', 'Quality Management', 1, 2),
    ('rnd', '技术研发部', 'R&D', 1, 3),
    ('marketing', '市场营销部', 'Marketing', 1, 4);

CREATE TABLE duty_shifts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    staff_id   BIGINT NOT NULL REFERENCES staff (id),
    starts_at  BIGINT NOT NULL,
    ends_at    BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX duty_shifts_ends_at ON duty_shifts (ends_at);

CREATE TABLE complaints (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    number               TEXT   NOT NULL UNIQUE,
    received_on          TEXT   NOT NULL,
    received_at          BIGINT NOT NULL,
    intake               TEXT   NOT NULL,
    submitter_chat_id    BIGINT,
    submitter_locale     TEXT,
    recorded_by          BIGINT REFERENCES staff (id),
    customer_id          BIGINT REFERENCES customers (id),
    customer_name        TEXT   NOT NULL,
    address              TEXT,
    contact_name         TEXT,
    contact_phone        TEXT,
    description          TEXT   NOT NULL,
    request              TEXT   NOT NULL,
    status               TEXT   NOT NULL,
    outcome              TEXT,
    department           TEXT   REFERENCES departments (key),
    nature               TEXT,
    deadline_at          BIGINT,
    first_response_at    BIGINT,
    handled_by           BIGINT REFERENCES staff (id),
    findings             TEXT,
    proposal             TEXT,
    method               TEXT,
    amount_cents         BIGINT NOT NULL DEFAULT 0,
    resolution           TEXT,
    result_sent_at       BIGINT,
    resolved_at          BIGINT,
    closed_at            BIGINT,
    reopen_count         BIGINT NOT NULL DEFAULT 0,
    revisit_asked_at     BIGINT,
    satisfaction         BIGINT,
    satisfaction_comment TEXT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE INDEX complaints_status ON complaints (status);
CREATE INDEX complaints_submitter ON complaints (submitter_chat_id);
CREATE INDEX complaints_received_on ON complaints (received_on);

CREATE TABLE complaint_events (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    complaint_id   BIGINT NOT NULL REFERENCES complaints (id),
    at             BIGINT NOT NULL,
    actor          TEXT   NOT NULL,
    actor_staff_id BIGINT REFERENCES staff (id),
    kind           TEXT   NOT NULL,
    details        TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX complaint_events_complaint ON complaint_events (complaint_id, id);

CREATE TABLE complaint_attachments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    complaint_id BIGINT NOT NULL REFERENCES complaints (id),
    kind         TEXT   NOT NULL,
    file_id      TEXT   NOT NULL,
    file_name    TEXT
);
CREATE INDEX complaint_attachments_complaint ON complaint_attachments (complaint_id);
