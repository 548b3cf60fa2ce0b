-- Release history for managers: when a release first completed, and what the history pages,
-- charts and CSV export filter, group and sort by.
--
-- completed_at is set the first time a release's outcome becomes `completed` and never
-- cleared, so a release that ended `rolled-back` with completed_at NULL failed before
-- completing, and one with completed_at set was rolled back after it completed.
ALTER TABLE releases ADD COLUMN completed_at TEXT;
-- Releases completed before this column existed. Those rolled back since cannot be told apart
-- from failures any more and count as failed.
UPDATE releases SET completed_at = finished_at WHERE outcome = 'completed';

-- Derived columns, so the queries that use them stay portable SQL (a PostgreSQL schema
-- defines the same names with its own date functions). Both are computed on read.
-- The Monday (YYYY-MM-DD, UTC) starting the ISO week the release was created in.
ALTER TABLE releases ADD COLUMN created_week TEXT
    GENERATED ALWAYS AS (date(created_at, '-6 days', 'weekday 1')) VIRTUAL;
-- Seconds from creation to finish, to the millisecond (julianday's floating point is not
-- exact); NULL while running.
ALTER TABLE releases ADD COLUMN duration_s REAL
    GENERATED ALWAYS AS (round((julianday(finished_at) - julianday(created_at)) * 86400000.0) / 1000.0) VIRTUAL;

-- History pages sort newest first and filter by day, workflow, run and outcome; a page and
-- the count of its matches read this index alone, not the wide rows (which carry the document
-- and state JSON). The id right after created_at breaks ties in creation order without a sort.
-- Filters by site or customer go through releases_site instead. No index leads with outcome
-- or workflow: with a handful of values each, the planner (without ANALYZE statistics) would
-- prefer them over the far more selective site index.
CREATE INDEX releases_history ON releases
    (created_at, id, site, workflow, run, outcome, completed_at, finished_at, downtime_ms, failed_requests);
