-- Releases as the engine runs them, and the append-only journal of their transitions.
-- The engine writes a transition (with the commands it is about to send) before it sends
-- them, so after a crash the last transition says exactly what to re-send, under the same
-- operation ids. State, events and commands are JSON written by the engine; the store only
-- keeps them in order.
CREATE TABLE releases (
    id                 INTEGER PRIMARY KEY,
    -- Random, fixed at creation: prefixes every operation id sent to agents, so ids stay
    -- unique on a host even across Switchyard databases.
    uid                TEXT NOT NULL UNIQUE,
    site               TEXT NOT NULL,
    run                TEXT NOT NULL CHECK (run IN ('rehearsal', 'production')),
    workflow           TEXT NOT NULL,
    document_toml      TEXT NOT NULL,
    document_version   INTEGER NOT NULL,
    candidate_sha256   TEXT NOT NULL,
    submitted_by       TEXT NOT NULL,
    -- Where it runs: JSON the engine understands (agent environments, addresses).
    placement          TEXT NOT NULL,
    -- The release's compiled configuration (pinned accounts and the like), JSON.
    config             TEXT NOT NULL,
    state              TEXT NOT NULL,
    -- Set by the rehearsal's last command: this candidate and document version passed.
    rehearsal_passed   INTEGER NOT NULL DEFAULT 0,
    outcome            TEXT CHECK (outcome IN ('completed', 'rolled-back')),
    downtime_ms        INTEGER,
    failed_requests    INTEGER,
    created_at         TEXT NOT NULL,
    finished_at        TEXT
);

CREATE INDEX releases_site ON releases (site, created_at);

CREATE TABLE release_transitions (
    release_id  INTEGER NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    -- 0 is the start; each transition is the previous one plus one, never rewritten.
    seq         INTEGER NOT NULL,
    -- The event that caused it (NULL for the start), with who and the comment for decisions.
    event       TEXT,
    state       TEXT NOT NULL,
    -- The commands to send for this transition, each with its operation id.
    commands    TEXT NOT NULL,
    at          TEXT NOT NULL,
    PRIMARY KEY (release_id, seq)
);
