//! Protocol upgrades (WebSocket and the like): the 101 answer, then a byte tunnel to the backend.
//!
//! An upgraded connection stays on the backend it was opened to for its whole life, like any
//! request in flight; route changes only affect connections opened after them.

use http::header::{self, HeaderMap, HeaderValue};
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

/// A client's request to switch protocols, with the downstream side of the future tunnel.
pub(crate) struct Upgrade {
    protocol: HeaderValue,
    downstream: OnUpgrade,
}

/// An HTTP/1.1 request with `Connection: upgrade` and an `Upgrade` header asks to switch.
pub(crate) fn requested(request: &mut Request<Incoming>) -> Option<Upgrade> {
    let protocol = request.headers().get(header::UPGRADE)?.clone();
    let asks = request
        .headers()
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|token| token.trim().eq_ignore_ascii_case("upgrade")));
    asks.then(|| Upgrade { protocol, downstream: hyper::upgrade::on(request) })
}

impl Upgrade {
    /// Hop-by-hop stripping removed these; the backend needs them to agree to the switch.
    pub(crate) fn restore_headers(&self, headers: &mut HeaderMap) {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, self.protocol.clone());
    }

    /// The backend agreed (101): answer the client the same way and join the two connections.
    pub(crate) fn tunnel(self, response: &mut Response<Incoming>) {
        let upstream = hyper::upgrade::on(&mut *response);
        let protocol = response.headers().get(header::UPGRADE).cloned().unwrap_or(self.protocol);
        crate::proxy::strip_hop_by_hop(response.headers_mut());
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        response.headers_mut().insert(header::UPGRADE, protocol);
        let downstream = self.downstream;
        tokio::spawn(async move {
            match tokio::try_join!(downstream, upstream) {
                Ok((downstream, upstream)) => {
                    let (mut downstream, mut upstream) = (TokioIo::new(downstream), TokioIo::new(upstream));
                    if let Err(error) = tokio::io::copy_bidirectional(&mut downstream, &mut upstream).await {
                        tracing::debug!(%error, "upgraded connection ended with an error");
                    }
                }
                Err(error) => tracing::debug!(%error, "upstream or downstream: the protocol switch did not complete"),
            }
        });
    }
}
