//! Switchyard's router: a reverse proxy that maps public addresses (and customer accounts) to
//! environments, and changes that mapping atomically without failing a request.
//!
//! The agent mounts it: it builds a [`Router`], starts it on the host's public listeners with
//! [`Router::serve`] or [`Router::bind`], and exposes the route operations on its API using the
//! wire types in [`api`].
//!
//! ```no_run
//! use std::time::Duration;
//! use switchyard_router::{Router, RouterConfig, RouteTable, SiteRoutes, Target};
//!
//! # async fn cutover() -> Result<(), switchyard_router::RouterError> {
//! let mut shop = SiteRoutes::default();
//! shop.environments.insert("blue".into(), "127.0.0.1:9001".parse().unwrap());
//! shop.environments.insert("green".into(), "127.0.0.1:9002".parse().unwrap());
//! shop.addresses.insert("shop.example.com".into(), Target::environment("blue"));
//! shop.addresses.insert("test.shop.example.com".into(), Target::environment("green"));
//! let mut table = RouteTable::default();
//! table.sites.insert("shop".into(), shop);
//!
//! let router = Router::new(RouterConfig::default());
//! router.set_table(table)?;
//! let listening = router.bind("127.0.0.1:8080".parse().unwrap()).await?;
//!
//! // A cutover: hold new requests, swap, release them to the new production.
//! router.begin_hold("shop", Duration::from_secs(5))?;
//! router.swap_environments("shop", "blue", "green")?;
//! router.end_hold("shop")?;
//! println!("{}", router.prometheus());
//! listening.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Invariants:
//! - A request sees one whole route table, never a half-updated one: route changes compile a new
//!   table off to the side and publish it in one pointer swap.
//! - A request runs to completion on the backend it was routed to; route changes never touch
//!   connections, upstream or downstream.
//! - Every failure is answered over HTTP (404, 502 or the site-down page); the router never
//!   resets a client connection because of routing.
//!
//! Clients may speak HTTP/1.1 (keep-alive, upgrades such as WebSocket) or h2c; backends are
//! reached over pooled HTTP/1.1 connections. TLS is the caller's concern: accept and handshake, then
//! hand each stream to [`Router::serve_connection`].

pub mod api;
mod counters;
pub mod error;
pub mod host;
mod ops;
pub mod prometheus;
mod proxy;
mod router;
mod serve;
pub mod site_down;
pub mod split;
mod table;
mod upgrade;

pub use api::{AccountSplit, CountersSnapshot, Hold, RouteTable, SiteDownPage, SiteRoutes, Target};
pub use counters::LATENCY_BOUNDS_SECONDS;
pub use error::{ProxyError, RouterError, Side};
pub use router::{Router, RouterConfig};
pub use serve::{ClientConnection, Listening};
