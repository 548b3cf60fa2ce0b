-- A site's own limits on its release candidates, set by support staff; NULL: the server's
-- default (`switchyard serve --candidate-*`) applies. Bytes and counts as integers.
ALTER TABLE sites ADD COLUMN candidate_quota_bytes INTEGER;
ALTER TABLE sites ADD COLUMN candidate_max_unpacked_bytes INTEGER;
ALTER TABLE sites ADD COLUMN candidate_max_entries INTEGER;
