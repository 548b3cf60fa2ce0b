-- Go-live attempts: a site's first deployment onto its host, journaled so a failed attempt can
-- be retried (same environment, same ports, same operation ids for the steps already done) or
-- abandoned (what it created on the host removed) instead of being cleaned up by hand.
CREATE TABLE go_lives (
    id               INTEGER PRIMARY KEY,
    site_id          INTEGER NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    -- The candidate of the latest try; a retry may bring a fixed one.
    candidate_sha256 TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('running', 'failed', 'live', 'abandoned')),
    -- The last step that finished ('' before the first).
    step             TEXT NOT NULL DEFAULT '',
    last_error       TEXT,
    -- How many times it was tried: the steps that must run again on every try (activate,
    -- start) carry the try in their operation ids, the others are replayed by the agent.
    tries            INTEGER NOT NULL DEFAULT 1,
    -- The agent environment the attempt creates and the ports of the site's two environments,
    -- fixed by the first try so every retry sends the same requests.
    environment      TEXT NOT NULL,
    blue_port        INTEGER NOT NULL,
    green_port       INTEGER NOT NULL,
    started_by       TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
-- One unfinished go-live per site: a retry continues it, a new one waits for it to be abandoned.
CREATE UNIQUE INDEX go_lives_one_unfinished ON go_lives (site_id) WHERE state IN ('running', 'failed');
CREATE INDEX go_lives_site ON go_lives (site_id);
