#!/usr/bin/env python3
"""The rate of a burst under two claim orders, with perfect senders.

Models what `benches/delivery.rs` measures without any of its costs: slots 35,715 µs apart
overall and 1.05 s apart per chat (`jobs::pace` at Telegram's default limits), a burst queued
chat by chat, and a claim that takes the next row of a chat whose slot is free:

- "queue": the oldest such row (the claim's order until 2026-12-01);
- "least recently served": a row of the chat whose gate is oldest, never-served chats first
  (`storage::outbox::claim` now).

Prints messages per second from the first send to the last, as the bench does. In queuing
order the burst ends with its last chats' messages at one a second per chat, which is what
kept one instance below 28/s.

    python3 benches/claim_order.py [CHATS] [PER_CHAT]
"""

import bisect
import heapq
import sys

OVERALL_SPACING_US = 35_715
CHAT_SPACING_US = 1_050_000


def queue_order(chats: int, per_chat: int) -> list[int]:
    """The oldest row of a free chat: chats in queuing order, a chat's rows in a row."""
    left = {c: per_chat for c in range(chats)}
    free_at = dict.fromkeys(range(chats), 0)
    waiting = list(range(chats))  # chats with rows left, in queuing order
    now, sends = 0, []
    while waiting:
        chat = next((c for c in waiting if free_at[c] <= now), None)
        if chat is None:
            now = min(free_at[c] for c in waiting)
            continue
        sends.append(now)
        free_at[chat] = now + CHAT_SPACING_US
        left[chat] -= 1
        if left[chat] == 0:
            waiting.pop(bisect.bisect_left(waiting, chat))
        now += OVERALL_SPACING_US
    return sends


def least_recently_served(chats: int, per_chat: int) -> list[int]:
    """A row of the chat whose gate is oldest (never served: 0), ties by queuing order."""
    left = {c: per_chat for c in range(chats)}
    gates = [(0, c) for c in range(chats)]  # (gate: next free slot, chat)
    heapq.heapify(gates)
    now, sends = 0, []
    while gates:
        gate, chat = heapq.heappop(gates)
        now = max(now, gate)
        sends.append(now)
        left[chat] -= 1
        if left[chat]:
            heapq.heappush(gates, (now + CHAT_SPACING_US, chat))
        now += OVERALL_SPACING_US
    return sends


def rate(sends: list[int]) -> float:
    return (len(sends) - 1) / ((sends[-1] - sends[0]) / 1e6)


if __name__ == "__main__":
    chats = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    per_chat = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    for name, order in [("queue", queue_order), ("least recently served", least_recently_served)]:
        print(f"{name}: {chats} chats x {per_chat}: {rate(order(chats, per_chat)):.4f} msg/s")
