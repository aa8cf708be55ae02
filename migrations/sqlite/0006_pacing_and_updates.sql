-- Telegram's flood limits are a budget shared by every instance on this database: one row for
-- the overall pace ('all') and one per chat ('tg:<chat id>'). Times are microseconds of the
-- wall clock; a sender books the next free slot and sends at it.
CREATE TABLE send_gate (
    gate         TEXT   PRIMARY KEY,
    next_at      BIGINT NOT NULL,
    window_start BIGINT NOT NULL DEFAULT 0,
    window_count BIGINT NOT NULL DEFAULT 0
);

-- Updates from Telegram already handled (or being handled), so that an update delivered twice
-- (a webhook retry, a second instance, a restart) is handled once.
CREATE TABLE updates_seen (
    update_id  BIGINT PRIMARY KEY,
    claimed_at BIGINT NOT NULL,
    done_at    BIGINT
);

-- At most one message per chat is in flight, so a chat's messages leave in order.
CREATE INDEX outbox_in_flight ON outbox (recipient) WHERE status = 'sending';
