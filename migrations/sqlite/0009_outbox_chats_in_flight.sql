-- The chats with a message in flight, and until when. The senders' claim takes the chats
-- with messages queued (`outbox_queued`) and each free chat's first message; this
-- answers "is one of this chat's messages in flight?" from the index alone. Without it the
-- answer read every queued row of the chat, and a chat with a thousand alerts waiting made
-- every claim read them all.
CREATE INDEX outbox_in_flight ON outbox (recipient, lease_until) WHERE status = 'sending';
