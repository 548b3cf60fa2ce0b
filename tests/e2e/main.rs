//! End-to-end tests, one module per user story, all against real processes.

mod administrator_manages_people;
mod api_refuses_bad_input;
mod browser_manages_sites;
mod cli_runs_a_release;
mod dashboard_shows_what_runs_where;
mod data_survives_a_restart;
mod desktop_app_shows_sites;
mod desktop_file_dialogs;
mod desktop_history_screenshot;
mod desktop_steps;
mod desktop_team_mode;
mod forms_offered_by_role;
mod local_agent_is_reachable;
mod low_downtime_stock_applications;
mod migration_journey;
mod patch_documents_are_versioned;
mod people;
mod people_log_in_by_role;
mod release_journeys;
mod serving_survives_the_server;
mod site_page_shows_databases;
mod stale_messages_are_cleared;
mod stock_applications;
mod stock_applications_on_database_servers;
mod wildcard_addresses_served;
