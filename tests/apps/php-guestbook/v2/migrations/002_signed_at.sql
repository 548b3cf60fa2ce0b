ALTER TABLE entries ADD COLUMN signed_at TEXT NOT NULL DEFAULT '';
-- down:
ALTER TABLE entries DROP COLUMN signed_at;
