//! Answering one request: resolve its host, hold it if asked, then forward it or serve the page.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::uri::{PathAndQuery, Scheme};
use http::{Request, Response, StatusCode, Uri, Version};
use http_body_util::{Either, Empty, Full};
use hyper::body::Body as _;
use hyper::body::Incoming;

use crate::counters::Outcome;
use crate::error::ProxyError;
use crate::host::normalize_host;
use crate::router::Shared;
use crate::serve::ClientConnection;
use crate::table::{Backend, Route};

/// A proxied response streams the backend's body; pages the router makes itself are in memory.
pub(crate) type ResponseBody = Either<Incoming, Full<Bytes>>;

/// A request body streams the client's body, or is empty (and then replayable).
pub(crate) type UpstreamBody = Either<Incoming, Empty<Bytes>>;

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1); never forwarded.
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
];

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// The service behind every listener. Never fails: every problem becomes an HTTP answer, so a
/// client's keep-alive connection is never reset by the router.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    client: ClientConnection,
    request: Request<Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    let started = Instant::now();
    let Some(raw_host) = request_host(&request) else {
        shared.counters.record_unrouted();
        return Ok(text(StatusCode::BAD_REQUEST, "the request names no host"));
    };
    let Some(host) = raw_host.to_str().ok().and_then(normalize_host) else {
        shared.counters.record_unrouted();
        return Ok(text(StatusCode::BAD_REQUEST, "the request's host is empty"));
    };
    let route = resolve_after_hold(&shared, &host, started).await;

    let response = match route {
        Route::Unrouted => {
            shared.counters.record_unrouted();
            text(StatusCode::NOT_FOUND, "no site is configured for this host")
        }
        // resolve_after_hold turns a hold into a site-down answer already; both serve the page.
        Route::SiteDown { address, page } | Route::Hold { address, page, .. } => {
            let response = page.response(StatusCode::SERVICE_UNAVAILABLE).map(Either::Right);
            let outcome = Outcome { status: 503, site_down: true, elapsed: started.elapsed() };
            address.record(outcome);
            response
        }
        Route::Proxy { backend, address, page } => match forward(&shared, &backend, client, raw_host.clone(), request).await {
            Ok(response) => {
                let outcome = Outcome { status: response.status().as_u16(), site_down: false, elapsed: started.elapsed() };
                backend.counters.record(outcome);
                address.record(outcome);
                response.map(Either::Left)
            }
            Err(error) => {
                let status = error.status();
                tracing::warn!(%error, side = %error.side(), %host, %status, "proxying failed; answering with the site's page");
                let outcome = Outcome { status: status.as_u16(), site_down: false, elapsed: started.elapsed() };
                backend.counters.record(outcome);
                address.record(outcome);
                page.response(status).map(Either::Right)
            }
        },
    };
    Ok(response)
}

/// Resolves the host; while the site is held, waits for route changes until the hold ends or
/// its deadline passes (then the table answers with the site-down page).
async fn resolve_after_hold(shared: &Shared, host: &str, now: Instant) -> Route {
    let route = shared.resolve(host, now);
    if !matches!(route, Route::Hold { .. }) {
        return route;
    }
    // Subscribe before resolving again, so a change landing in between still wakes us.
    let mut changes = shared.changes.subscribe();
    loop {
        let route = shared.resolve(host, Instant::now());
        let Route::Hold { deadline, .. } = route else {
            return route;
        };
        match tokio::time::timeout_at(deadline.into(), changes.changed()).await {
            Ok(Ok(())) => continue,
            // The router is gone or the hold ran out; resolving at the deadline gives the page.
            Ok(Err(_)) | Err(_) => {
                let at = Instant::now().max(deadline);
                return match shared.resolve(host, at) {
                    Route::Hold { address, page, .. } => Route::SiteDown { address, page },
                    other => other,
                };
            }
        }
    }
}

async fn forward(
    shared: &Shared,
    backend: &Backend,
    client: ClientConnection,
    raw_host: HeaderValue,
    mut request: Request<Incoming>,
) -> Result<Response<Incoming>, ProxyError> {
    let upgrade = crate::upgrade::requested(&mut request);
    let (mut parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().cloned().unwrap_or_else(|| PathAndQuery::from_static("/"));
    let mut uri = parts.uri.into_parts();
    uri.scheme = Some(Scheme::HTTP);
    uri.authority = Some(backend.authority.clone());
    uri.path_and_query = Some(path);
    parts.uri = Uri::from_parts(uri).expect("scheme, a socket authority and a path always form a URI");
    // The upstream pool speaks HTTP/1.1 to backends whatever the client spoke to us.
    parts.version = Version::HTTP_11;
    let headers = &mut parts.headers;
    strip_hop_by_hop(headers);
    // HTTP/2 clients send no Host header; the backend still needs the public host, not ours.
    headers.insert(header::HOST, raw_host.clone());
    append_forwarded_for(headers, client.peer);
    headers.insert(X_FORWARDED_HOST.clone(), raw_host);
    let proto = if client.tls { "https" } else { "http" };
    headers.insert(X_FORWARDED_PROTO.clone(), HeaderValue::from_static(proto));
    if let Some(upgrade) = &upgrade {
        upgrade.restore_headers(headers);
    }

    let deadline = shared.config.upstream_response_timeout;
    let mut response = match tokio::time::timeout(deadline, send_with_replay(shared, backend, parts, body)).await {
        Ok(result) => result.map_err(|source| ProxyError::Upstream {
            site: backend.site.to_string(),
            environment: backend.environment.to_string(),
            backend: backend.addr,
            source,
        })?,
        Err(_) => {
            return Err(ProxyError::UpstreamTimeout {
                site: backend.site.to_string(),
                environment: backend.environment.to_string(),
                backend: backend.addr,
                waited: deadline,
            })
        }
    };
    match upgrade {
        Some(upgrade) if response.status() == StatusCode::SWITCHING_PROTOCOLS => upgrade.tunnel(&mut response),
        _ => strip_hop_by_hop(response.headers_mut()),
    }
    Ok(response)
}

/// Sends the request; a request without a body is sent once more if the first attempt failed
/// on the way (a pooled connection the backend had just closed, a refused connect). Keeping
/// what a replay needs costs a header copy, and turns that race into a success, not a 502.
async fn send_with_replay(
    shared: &Shared,
    backend: &Backend,
    parts: http::request::Parts,
    body: Incoming,
) -> Result<Response<Incoming>, hyper_util::client::legacy::Error> {
    let replay = body.is_end_stream().then(|| (parts.method.clone(), parts.uri.clone(), parts.headers.clone()));
    let body = if replay.is_some() { Either::Right(Empty::new()) } else { Either::Left(body) };
    let first = shared.upstream.request(Request::from_parts(parts, body)).await;
    match (first, replay) {
        // Nothing reached the backend after a connect error; otherwise only replay what HTTP
        // says is safe to repeat.
        (Err(error), Some((method, uri, headers))) if error.is_connect() || method.is_idempotent() => {
            tracing::debug!(%error, backend = %backend.addr, "upstream: first attempt failed; sending the request once more");
            let mut again = Request::new(Either::Right(Empty::new()));
            *again.method_mut() = method;
            *again.uri_mut() = uri;
            *again.headers_mut() = headers;
            shared.upstream.request(again).await
        }
        (result, _) => result,
    }
}

/// HTTP/1.1 puts the host in the Host header, HTTP/2 in the `:authority` pseudo-header (the URI).
fn request_host(request: &Request<Incoming>) -> Option<HeaderValue> {
    if let Some(value) = request.headers().get(header::HOST) {
        return Some(value.clone());
    }
    let authority = request.uri().authority()?;
    HeaderValue::from_str(authority.as_str()).ok()
}

pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Headers the Connection header names are hop-by-hop too.
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(name);
    }
    // `Upgrade` is hop-by-hop too; an upgrade the router carries puts it back (see upgrade.rs).
    headers.remove(header::UPGRADE);
}

fn append_forwarded_for(headers: &mut HeaderMap, peer: SocketAddr) {
    let ip = peer.ip().to_string();
    let value = match headers.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(earlier) => format!("{earlier}, {ip}"),
        None => ip,
    };
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.insert(X_FORWARDED_FOR.clone(), value);
    }
}

fn text(status: StatusCode, message: &'static str) -> Response<ResponseBody> {
    let mut response = Response::new(Either::Right(Full::new(Bytes::from_static(message.as_bytes()))));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_hop_by_hop_and_connection_named_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONNECTION, HeaderValue::from_static("keep-alive, x-session-hop"));
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert("x-session-hop", HeaderValue::from_static("1"));
        headers.insert(header::TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        headers.insert(header::COOKIE, HeaderValue::from_static("a=b"));
        strip_hop_by_hop(&mut headers);
        assert_eq!(headers.len(), 1, "only the cookie survives: {headers:?}");
    }

    #[test]
    fn forwarded_for_appends_the_peer() {
        let mut headers = HeaderMap::new();
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        append_forwarded_for(&mut headers, peer);
        assert_eq!(headers[&X_FORWARDED_FOR], "127.0.0.1");
        append_forwarded_for(&mut headers, peer);
        assert_eq!(headers[&X_FORWARDED_FOR], "127.0.0.1, 127.0.0.1");
    }
}
