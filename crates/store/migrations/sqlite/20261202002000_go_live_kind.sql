-- A go-live is either a first deployment from a candidate or the adoption of a site already
-- running on its host (no candidate: candidate_sha256 is empty, blue_port is the port the
-- adopted process listens on). Both are journaled, retried and abandoned the same way, and
-- either one makes the site live.
ALTER TABLE go_lives ADD COLUMN kind TEXT NOT NULL DEFAULT 'candidate' CHECK (kind IN ('candidate', 'adoption'));
