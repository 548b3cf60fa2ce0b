-- A site's default runtime settings: a switchyard.toml text (checked with core's manifest
-- parser before it is stored) that runs a release shipping neither a switchyard.toml nor a
-- Procfile, e.g. a tarball the customer did not change. NULL: the site has none.
ALTER TABLE sites ADD COLUMN runtime_manifest TEXT;
