//! The router's user stories, run against real HTTP servers on 127.0.0.1 in one test binary.

mod account_rollout;
mod backend_drops_connection;
mod counters;
mod hold_mode;
mod http2_clients;
mod listeners;
mod site_down_page;
mod support;
mod swap_under_load;
mod upgrades;
