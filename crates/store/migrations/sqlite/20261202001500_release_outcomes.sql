-- How each finished run ended, by core's one definition (`workflow::Outcome`): completed,
-- failed (a step, check or watch window failed it), rejected (by support or the customer),
-- rolled-back (someone asked). History's cards, table, charts and export all read this
-- column, so they cannot disagree. NULL while a run is under way.
ALTER TABLE releases ADD COLUMN ended_as TEXT CHECK (ended_as IN ('completed', 'failed', 'rejected', 'rolled-back'));

-- Runs that ended before the column existed: their last state's reason says why they were
-- rolled back; only a request rolls back a run that had completed.
UPDATE releases SET ended_as = CASE
    WHEN outcome = 'completed' THEN 'completed'
    WHEN state LIKE '%"reason":"rollback requested by %' OR completed_at IS NOT NULL THEN 'rolled-back'
    WHEN state LIKE '%"reason":"rejected by %' OR state LIKE '%found a problem%' THEN 'rejected'
    ELSE 'failed'
END
WHERE outcome IS NOT NULL;
