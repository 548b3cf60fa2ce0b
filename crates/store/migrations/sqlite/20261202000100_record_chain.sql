-- The tamper-evident record: every audit-log row and every journaled transition carries the hash
-- of its predecessor and its own hash (sha256 over a canonical encoding of its fields and the
-- predecessor's hash; `switchyard_core::record`). The audit log is one chain in id order; each
-- release's journal is its own chain, starting at the hash of the release's fixed fields, so an
-- exported release record stands alone.
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN row_hash TEXT;
ALTER TABLE release_transitions ADD COLUMN prev_hash TEXT;
ALTER TABLE release_transitions ADD COLUMN row_hash TEXT;

-- SQL cannot compute sha256, so the store backfills the chains of rows written before this
-- migration when it next opens the database, once: the row here says it was done. From then on
-- a row without hashes was written outside Switchyard and `audit verify` names it.
CREATE TABLE record_chains (
    name          TEXT PRIMARY KEY,
    backfilled_at TEXT NOT NULL
);
