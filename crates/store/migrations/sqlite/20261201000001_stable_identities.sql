-- Identities that never change: a site's key, releases by site id, people by user id.
-- Display names (a site's name, a user's display name or username) can be edited; everything
-- that must keep pointing at the same site or person refers to these instead.

-- The key names the site on its host (agent environments <key>-blue/-green/-snapshot, its data
-- volume, its route-table entry) and in operation ids. Fixed when the site is created. Existing
-- sites get the slug their environments were already named by (lower-case ASCII letters and
-- digits, `-` and `_` kept, anything else `-`), so they stay connected to their hosts.
ALTER TABLE sites ADD COLUMN key TEXT NOT NULL DEFAULT '';
WITH RECURSIVE folded (id, i, out) AS (
    SELECT id, 1, '' FROM sites
    UNION ALL
    SELECT f.id, f.i + 1, f.out || CASE
        WHEN lower(substr(s.name, f.i, 1)) BETWEEN 'a' AND 'z'
          OR substr(s.name, f.i, 1) BETWEEN '0' AND '9'
          OR substr(s.name, f.i, 1) IN ('-', '_')
        THEN lower(substr(s.name, f.i, 1))
        ELSE '-' END
    FROM folded f JOIN sites s ON s.id = f.id
    WHERE f.i <= length(s.name)
)
UPDATE sites SET key = (SELECT out FROM folded WHERE folded.id = sites.id ORDER BY i DESC LIMIT 1);
-- Two sites whose names slugged alike already shared environments on a host; the later one
-- gets its id appended so the keys are unique (its environments must be set up again).
UPDATE sites SET key = key || '-' || id
    WHERE EXISTS (SELECT 1 FROM sites o WHERE o.key = sites.key AND o.id < sites.id);
CREATE UNIQUE INDEX sites_key_unique ON sites (key);

-- A release belongs to the site it was created for, by id. Deleting the site sets it NULL, so
-- a later site (even one that gets the same id or reuses the name) inherits none of its
-- releases. Backfilled through the name join history used until now.
ALTER TABLE releases ADD COLUMN site_id INTEGER REFERENCES sites (id) ON DELETE SET NULL;
UPDATE releases SET site_id = (
    SELECT s.id FROM sites s WHERE s.name = releases.site AND s.created_at <= releases.created_at
);
-- From now on `site` holds the site's key (its name at the time for releases of deleted sites).
UPDATE releases SET site = (SELECT s.key FROM sites s WHERE s.id = releases.site_id)
    WHERE site_id IS NOT NULL;

-- People by id: who submitted a release, who uploaded a candidate, who made a change. The
-- name columns stay as they were when written (an audit trail records what it saw); display
-- goes through the id to the user's current name. NULL for rows written before ids were kept,
-- and for Switchyard acting on its own.
ALTER TABLE releases ADD COLUMN submitted_by_id INTEGER REFERENCES users (id) ON DELETE SET NULL;
UPDATE releases SET submitted_by_id = (SELECT u.id FROM users u WHERE u.username = releases.submitted_by);
ALTER TABLE candidates ADD COLUMN uploaded_by_id INTEGER REFERENCES users (id) ON DELETE SET NULL;
UPDATE candidates SET uploaded_by_id = (SELECT u.id FROM users u WHERE u.username = candidates.uploaded_by);
ALTER TABLE audit_log ADD COLUMN actor_id INTEGER REFERENCES users (id) ON DELETE SET NULL;
UPDATE audit_log SET actor_id = (SELECT u.id FROM users u WHERE u.username = audit_log.actor);

-- Site filters, customer scopes and the control rule's rehearsals go through site_id now.
-- The covering index for history pages carries site_id instead of the name, so a customer's
-- page still reads the index alone before joining its rows.
DROP INDEX releases_site;
CREATE INDEX releases_site ON releases (site_id, created_at);
DROP INDEX releases_history;
CREATE INDEX releases_history ON releases
    (created_at, id, site_id, workflow, run, outcome, completed_at, finished_at, downtime_ms, failed_requests);
