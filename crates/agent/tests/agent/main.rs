//! Integration tests of the host agent: a real `switchyard-agent` process on 127.0.0.1 with a
//! temporary root, the real sample site, real archives. One target so it links once.

mod support;

mod auth;
mod change_capture;
mod change_replay;
mod clone_and_sync;
mod cutover_pieces;
mod data_volumes;
mod database_inventory;
mod database_snapshots;
mod environment_databases;
mod hostile_archives;
mod idempotency_and_restart;
mod public_routing;
mod release_lifecycle;
mod release_manifest;
mod site_databases;
mod site_isolation;
mod site_supervision;
mod unpack_limits;
