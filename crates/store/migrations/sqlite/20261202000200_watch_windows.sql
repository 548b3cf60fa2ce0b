-- Watch windows in progress: when each started and the router's counters at its start, so an
-- engine that resumes a release after a restart watches only what is left of the window and
-- judges the new version on everything it served since the window began.
CREATE TABLE watch_windows (
    release_id   INTEGER NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    -- The transition whose `Wait` command the window is.
    seq          INTEGER NOT NULL,
    -- Unix time in milliseconds (wall clock, which survives a restart of the engine).
    started_at_ms INTEGER NOT NULL,
    -- The counters read at the start, as JSON the engine writes and reads back.
    baseline     TEXT NOT NULL,
    PRIMARY KEY (release_id, seq)
);
