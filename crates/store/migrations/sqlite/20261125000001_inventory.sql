-- Inventory: who the customers are, what they run, where it runs and where it is served.
-- Timestamps are RFC 3339 UTC text written by the application, so they sort and compare as text.

CREATE TABLE customers (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    contact_email TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    CONSTRAINT customers_name_unique UNIQUE (name)
);

CREATE TABLE sites (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE RESTRICT,
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    CONSTRAINT sites_name_unique UNIQUE (name)
);
CREATE INDEX sites_customer ON sites (customer_id);

CREATE TABLE hosts (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    agent_url  TEXT NOT NULL,
    token_ref  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    CONSTRAINT hosts_name_unique UNIQUE (name)
);

CREATE TABLE environments (
    id         INTEGER PRIMARY KEY,
    site_id    INTEGER NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('production', 'test', 'staging')),
    host_id    INTEGER NOT NULL REFERENCES hosts (id) ON DELETE RESTRICT,
    created_at TEXT NOT NULL,
    CONSTRAINT environments_name_unique UNIQUE (site_id, name)
);
-- A site has one production: the environment its public addresses mean.
CREATE UNIQUE INDEX environments_one_production ON environments (site_id) WHERE kind = 'production';
CREATE INDEX environments_host ON environments (host_id);

CREATE TABLE addresses (
    id             INTEGER PRIMARY KEY,
    site_id        INTEGER NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    value          TEXT NOT NULL,
    environment_id INTEGER REFERENCES environments (id) ON DELETE SET NULL,
    created_at     TEXT NOT NULL,
    CONSTRAINT addresses_value_unique UNIQUE (value)
);
CREATE INDEX addresses_site ON addresses (site_id);

CREATE TABLE accounts (
    id         INTEGER PRIMARY KEY,
    site_id    INTEGER NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    subdomain  TEXT NOT NULL,
    tags       TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    CONSTRAINT accounts_subdomain_unique UNIQUE (site_id, subdomain)
);

CREATE TABLE users (
    id           INTEGER PRIMARY KEY,
    username     TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('customer', 'support', 'manager')),
    customer_id  INTEGER REFERENCES customers (id) ON DELETE RESTRICT,
    created_at   TEXT NOT NULL,
    CONSTRAINT users_username_unique UNIQUE (username)
);
