-- A chat's queue: its messages waiting or in flight, in order. The claim reads it to take only
-- the first waiting message of a chat (of one priority), so that two senders of PostgreSQL,
-- one of them skipping the other's locked row, cannot take a chat's first and second message
-- at once and send them the wrong way round. It also answers "is one in flight?", the only
-- question the index it replaces was for.
CREATE INDEX outbox_queued ON outbox (recipient, priority, id) WHERE status IN ('pending', 'sending');
DROP INDEX outbox_in_flight;
