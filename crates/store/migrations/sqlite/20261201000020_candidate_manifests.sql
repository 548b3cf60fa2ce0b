-- What each candidate's release manifest declares, read once at upload: the file it came
-- from (switchyard.toml or Procfile) and its canonical TOML. A candidate without one has no
-- row; its site's default manifest, or the legacy bin/site convention, applies.
CREATE TABLE candidate_manifests (
    site_id INTEGER NOT NULL,
    sha256  TEXT NOT NULL,
    source  TEXT NOT NULL,
    toml    TEXT NOT NULL,
    PRIMARY KEY (site_id, sha256),
    FOREIGN KEY (site_id, sha256) REFERENCES candidates (site_id, sha256) ON DELETE CASCADE
);
