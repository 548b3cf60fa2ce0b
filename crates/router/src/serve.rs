//! Listeners: accept client connections and serve them with HTTP/1.1 keep-alive or h2c.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::router::Shared;

/// A running listener. Dropping it leaves the listener running; call [`Listening::shutdown`]
/// to stop it.
#[derive(Debug)]
pub struct Listening {
    local_addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Listening {
    /// The address actually bound (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, asks open connections to close after their current request, and waits
    /// for them at most the router's `shutdown_grace`.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

pub(crate) fn spawn(shared: Arc<Shared>, listener: TcpListener) -> std::io::Result<Listening> {
    let local_addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(accept_loop(shared, listener, stopped));
    Ok(Listening { local_addr, stop, task })
}

/// Who is on the other end of a client connection, for the `X-Forwarded-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConnection {
    pub peer: SocketAddr,
    /// The client reached us over TLS (terminated by whoever handed us the stream).
    pub tls: bool,
}

fn connection_builder() -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The timer lets hyper enforce its header read timeout against slow or idle clients.
    builder.http1().timer(TokioTimer::new());
    builder.http2().timer(TokioTimer::new());
    builder
}

/// Serves one client connection until it ends, or until `drain` fires and the connection has
/// finished its current request.
pub(crate) async fn serve_connection<I>(
    shared: Arc<Shared>,
    builder: &auto::Builder<TokioExecutor>,
    io: I,
    client: ClientConnection,
    mut drain: Option<watch::Receiver<bool>>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request| crate::proxy::handle(shared.clone(), client, request));
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    let mut connection = std::pin::pin!(connection);
    let drained = async {
        match drain.as_mut() {
            Some(drain) => drain.changed().await.unwrap_or(()),
            None => std::future::pending().await,
        }
    };
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = drained => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(peer = %client.peer, %error, "downstream: client connection ended with an error");
    }
}

/// Serves a connection accepted elsewhere, e.g. after a TLS handshake (see [`crate::Router::serve_connection`]).
pub(crate) async fn serve_one<I>(shared: Arc<Shared>, io: I, client: ClientConnection)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    serve_connection(shared, &connection_builder(), io, client, None).await;
}

async fn accept_loop(shared: Arc<Shared>, listener: TcpListener, mut stopped: oneshot::Receiver<()>) {
    let builder = Arc::new(connection_builder());
    // Each connection task holds a receiver: the send asks connections to finish, and the
    // channel closes once the last of them has (hyper-util's GracefulShutdown cannot watch
    // connections that may upgrade, so this does the same by hand).
    let (draining, drain_signal) = watch::channel(false);
    let mut handle_dropped = false;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Small proxied responses must not wait for Nagle's algorithm.
                    let _ = stream.set_nodelay(true);
                    let client = ClientConnection { peer, tls: false };
                    let (shared, builder, drain) = (shared.clone(), builder.clone(), drain_signal.clone());
                    tokio::spawn(async move { serve_connection(shared, &builder, stream, client, Some(drain)).await });
                }
                Err(error) => {
                    // Usually out of file descriptors; pausing lets open connections finish and free some.
                    tracing::warn!(%error, "internal: accepting a connection failed; retrying shortly");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            result = &mut stopped, if !handle_dropped => match result {
                Ok(()) => break,
                // Dropping the handle is not a request to stop.
                Err(_) => handle_dropped = true,
            },
        }
    }
    drop(listener);
    drop(drain_signal);
    let _ = draining.send(true);
    if tokio::time::timeout(shared.config.shutdown_grace, draining.closed()).await.is_err() {
        tracing::warn!("internal: connections still open after the shutdown grace period are left to end on their own");
    }
}
