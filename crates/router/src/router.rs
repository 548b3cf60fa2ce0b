//! The router handle: publishes the route table atomically and applies every route change.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::{AccountSplit, CountersSnapshot, Hold, RouteTable, SiteDownPage, Target};
use crate::counters::CounterRegistry;
use crate::error::RouterError;
use crate::ops;
use crate::proxy::UpstreamBody;
use crate::serve::{ClientConnection, Listening};
use crate::table::{CompiledTable, Route};

/// Tunables of the proxy. `Default` suits a host agent on loopback backends.
#[derive(Debug, Clone)]
pub struct RouterConfig {
    /// How long to wait for an environment's backend to accept a connection.
    pub connect_timeout: Duration,
    /// How long an idle upstream connection stays pooled. Kept below the 5 s keep-alive many
    /// app servers use, so the router drops an idle connection before the backend does.
    pub upstream_idle_timeout: Duration,
    /// How long a backend may take to send response headers before the client gets 504.
    pub upstream_response_timeout: Duration,
    /// Idle upstream connections kept per backend.
    pub max_idle_per_backend: usize,
    /// How long a listener being shut down lets open requests finish.
    pub shutdown_grace: Duration,
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            connect_timeout: Duration::from_secs(2),
            upstream_idle_timeout: Duration::from_secs(4),
            upstream_response_timeout: Duration::from_secs(60),
            max_idle_per_backend: 256,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// The table as configured and as compiled, published together so they never disagree.
#[derive(Debug)]
struct Published {
    source: RouteTable,
    compiled: CompiledTable,
}

/// State shared by the handle, its listeners and every request.
#[derive(Debug)]
pub(crate) struct Shared {
    published: ArcSwap<Published>,
    /// Route changes are read-modify-write; this keeps two from losing each other's edit.
    /// Requests never take it.
    writer: Mutex<()>,
    /// Bumped on every route change; held requests wait on it.
    pub(crate) changes: watch::Sender<u64>,
    pub(crate) counters: CounterRegistry,
    /// One pooled client; its pool keeps idle connections per backend address, so requests to
    /// one environment reuse that environment's connections across route changes.
    pub(crate) upstream: Client<HttpConnector, UpstreamBody>,
    pub(crate) config: RouterConfig,
}

impl Shared {
    pub(crate) fn resolve(&self, host: &str, now: Instant) -> Route {
        self.published.load().compiled.resolve(host, now)
    }
}

/// A cheap, cloneable handle to one router: start it on listeners, change its routes.
#[derive(Debug, Clone)]
pub struct Router {
    shared: Arc<Shared>,
}

impl Router {
    /// A router with an empty table: every host gets 404 until routes are set.
    pub fn new(config: RouterConfig) -> Router {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(config.connect_timeout));
        let upstream = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(config.upstream_idle_timeout)
            .pool_max_idle_per_host(config.max_idle_per_backend)
            .build(connector);
        let published = Published { source: RouteTable::default(), compiled: CompiledTable::default() };
        Router {
            shared: Arc::new(Shared {
                published: ArcSwap::from_pointee(published),
                writer: Mutex::new(()),
                changes: watch::channel(0).0,
                counters: CounterRegistry::default(),
                upstream,
                config,
            }),
        }
    }

    /// Serves on an already bound listener (port 0 in tests, a socket handed over on restart).
    /// Call once per public listener; every listener shares this router's table.
    pub fn serve(&self, listener: TcpListener) -> std::io::Result<Listening> {
        crate::serve::spawn(self.shared.clone(), listener)
    }

    /// Serves one connection accepted elsewhere, until it ends: the way to put the router behind
    /// TLS (accept, handshake, then hand the stream here with `tls: true`). Spawn it per connection.
    pub async fn serve_connection<I>(&self, io: I, client: ClientConnection)
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        crate::serve::serve_one(self.shared.clone(), io, client).await;
    }

    /// Binds `addr` and serves on it.
    pub async fn bind(&self, addr: SocketAddr) -> Result<Listening, RouterError> {
        let listener = TcpListener::bind(addr).await.map_err(|source| RouterError::Bind { addr, source })?;
        self.serve(listener).map_err(|source| RouterError::Bind { addr, source })
    }

    /// The table as last set.
    pub fn table(&self) -> RouteTable {
        self.shared.published.load().source.clone()
    }

    /// Replaces the whole table. Holds already running keep their deadlines.
    pub fn set_table(&self, table: RouteTable) -> Result<(), RouterError> {
        self.change(|current, _| {
            *current = table;
            Ok(())
        })
    }

    /// Swaps two environments of a site: production becomes test and test becomes production.
    pub fn swap_environments(&self, site: &str, first: &str, second: &str) -> Result<(), RouterError> {
        self.change(|table, _| ops::swap_environments(table, site, first, second))
    }

    /// Moves what `public_address` serves to `temporary_address`; the public address shows the
    /// site-down page.
    pub fn move_to_temporary_address(&self, site: &str, public_address: &str, temporary_address: &str) -> Result<(), RouterError> {
        self.change(|table, _| ops::move_to_temporary_address(table, site, public_address, temporary_address))
    }

    /// Points `public_address` at what `temporary_address` serves and removes the temporary one.
    pub fn route_back(&self, site: &str, temporary_address: &str, public_address: &str) -> Result<(), RouterError> {
        self.change(|table, _| ops::route_back(table, site, temporary_address, public_address))
    }

    /// Points one address at a target (adding the address if new).
    pub fn point_address(&self, site: &str, address: &str, target: Target) -> Result<(), RouterError> {
        self.change(|table, _| ops::point_address(table, site, address, target))
    }

    /// Splits an address's accounts between two environments (see [`AccountSplit`]).
    pub fn set_account_split(&self, site: &str, address: &str, split: AccountSplit) -> Result<(), RouterError> {
        self.point_address(site, address, Target::Split(split))
    }

    /// Turns maintenance on or off; `page` (when given) becomes the site's site-down page.
    pub fn set_maintenance(&self, site: &str, on: bool, page: Option<SiteDownPage>) -> Result<(), RouterError> {
        self.change(|table, _| {
            let routes = ops::site_mut(table, site)?;
            routes.maintenance = on;
            if let Some(page) = page {
                routes.site_down = page;
            }
            Ok(())
        })
    }

    /// Holds the site's new requests for at most `timeout` from now (restarting any hold already
    /// on). Held requests go wherever the table points when [`Router::end_hold`] is called;
    /// if that does not happen in time they get the site-down page.
    pub fn begin_hold(&self, site: &str, timeout: Duration) -> Result<(), RouterError> {
        let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self.change(|table, deadlines| {
            ops::site_mut(table, site)?.hold = Some(Hold { timeout_ms });
            deadlines.remove(site);
            Ok(())
        })
    }

    /// Ends the hold and releases the held requests to the current routes.
    pub fn end_hold(&self, site: &str) -> Result<(), RouterError> {
        self.change(|table, deadlines| {
            ops::site_mut(table, site)?.hold = None;
            deadlines.remove(site);
            Ok(())
        })
    }

    /// Counters per environment and per address since the router started.
    pub fn counters(&self) -> CountersSnapshot {
        self.shared.counters.snapshot()
    }

    /// The counters in Prometheus text format (serve with [`crate::prometheus::CONTENT_TYPE`]).
    pub fn prometheus(&self) -> String {
        crate::prometheus::render(&self.counters())
    }

    /// Edits a copy of the table, compiles it and publishes it in one pointer swap. A refused
    /// edit publishes nothing.
    fn change(
        &self,
        edit: impl FnOnce(&mut RouteTable, &mut HashMap<String, Instant>) -> Result<(), RouterError>,
    ) -> Result<(), RouterError> {
        let _writer = self.shared.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.shared.published.load_full();
        let mut source = current.source.clone();
        let mut deadlines = current.compiled.hold_deadlines.clone();
        edit(&mut source, &mut deadlines)?;
        let compiled = CompiledTable::compile(&source, &self.shared.counters, &deadlines, Instant::now())?;
        self.shared.published.store(Arc::new(Published { source, compiled }));
        // Wake held requests so they resolve again against the new table.
        self.shared.changes.send_modify(|generation| *generation += 1);
        Ok(())
    }
}
