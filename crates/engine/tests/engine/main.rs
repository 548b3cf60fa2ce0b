//! The engine's integration tests: releases of the real sample site through a real agent
//! process on 127.0.0.1, each test in its own temporary directories with its own database.

mod blue_green_under_load;
mod crash_and_resume;
mod engine_process_killed;
mod expand_migration_under_load;
mod low_downtime_killed;
mod low_downtime_migration;
mod migration_release;
mod minor_patch;
mod no_migration_under_load;
mod production_needs_a_rehearsal;
mod rollback_during_a_watch_window;
mod rollout_by_account;
mod site_unpack_limits;
mod support;
mod traffic;
