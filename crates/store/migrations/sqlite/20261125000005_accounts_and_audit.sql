-- Logging in, sessions, the audit log and uploaded release candidates.

-- An argon2 PHC string; NULL until a password is set (such a user cannot log in yet).
ALTER TABLE users ADD COLUMN password_hash TEXT;
-- Administrators also manage users.
ALTER TABLE users ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;

-- Only the sha256 of a session token is kept, so a copy of the database logs nobody in.
CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    remote       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Every change anyone made: who, when, from where. Rows are only ever appended.
CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT NOT NULL,
    detail  TEXT NOT NULL,
    remote  TEXT NOT NULL
);

-- Release candidates as uploaded: the bytes live in the data directory as <sha256>.tar.gz.
CREATE TABLE candidates (
    site_id     INTEGER NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    sha256      TEXT NOT NULL,
    filename    TEXT NOT NULL,
    size_bytes  INTEGER NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at TEXT NOT NULL,
    PRIMARY KEY (site_id, sha256)
);
