-- A rollback measured apart from the production run it undoes: downtime_ms and
-- failed_requests stay the run's own; held_ms is the part of the run's downtime spent holding
-- requests (answered late, not refused); the rollback's figures are its own, its failed
-- requests counted from the router's counters as it began (rollback_baseline, JSON).
ALTER TABLE releases ADD COLUMN held_ms INTEGER;
ALTER TABLE releases ADD COLUMN rollback_downtime_ms INTEGER;
ALTER TABLE releases ADD COLUMN rollback_held_ms INTEGER;
ALTER TABLE releases ADD COLUMN rollback_failed_requests INTEGER;
ALTER TABLE releases ADD COLUMN rollback_baseline TEXT;

-- A site's capture window: how many hours after a low-downtime migration's cutover the new
-- version's writes stay captured, so a rollback keeps them (NULL: Switchyard's default).
ALTER TABLE sites ADD COLUMN capture_window_hours INTEGER;
-- When a release's capture window closed and the new version's capture was stopped.
ALTER TABLE releases ADD COLUMN capture_closed_at TEXT;
