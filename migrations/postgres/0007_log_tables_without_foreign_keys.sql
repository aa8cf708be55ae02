-- The access log and the escalation records are append-only history written by code that has
-- just read the same customer and staff rows in the same transaction, and no customer or staff
-- row is ever deleted (a purge blanks a customer's personal data in place). Their foreign keys
-- guarded nothing that can happen, but on PostgreSQL every checked row takes a share lock on
-- the customer it names: measured with 1M customers, 20,000 access-log rows took 426-806 ms to
-- insert with the keys and 54-65 ms without; 10,000 escalations 175-282 ms against 64 ms. That
-- was most of the daily round (BENCHMARKS.md, planner).
ALTER TABLE access_log
    DROP CONSTRAINT access_log_staff_id_fkey,
    DROP CONSTRAINT access_log_customer_id_fkey;

ALTER TABLE escalations
    DROP CONSTRAINT escalations_customer_id_fkey,
    DROP CONSTRAINT escalations_recipient_id_fkey;
