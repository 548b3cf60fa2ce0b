-- The version a go-live put live, as the person putting it live named it (the demo: 1.0.0),
-- so the dashboard says which version production runs before any release; NULL when not named.
ALTER TABLE go_lives ADD COLUMN version TEXT;
