ALTER TABLE entries ADD COLUMN signed_at VARCHAR(40) NOT NULL DEFAULT '';
-- down:
ALTER TABLE entries DROP COLUMN signed_at;
