-- Patch documents, versioned per site: a saved version is never changed, an edit is a new
-- version. The TOML is stored canonically (as rendered by core), with the fields a list shows.
CREATE TABLE patch_documents (
    id               INTEGER PRIMARY KEY,
    site_id          INTEGER NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    version          INTEGER NOT NULL,
    workflow         TEXT NOT NULL,
    target_version   TEXT NOT NULL,
    candidate_sha256 TEXT NOT NULL,
    toml             TEXT NOT NULL,
    summary          TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    CONSTRAINT patch_documents_version_unique UNIQUE (site_id, version)
);
