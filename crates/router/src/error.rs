//! Errors of the router: what failed, which side caused it, and what to do about it.

use std::net::SocketAddr;

/// Who caused a failure, in the proxy's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The environment's backend behind the router.
    Upstream,
    /// The client in front of the router.
    Downstream,
    /// The router itself or the caller configuring it.
    Internal,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Upstream => "upstream",
            Side::Downstream => "downstream",
            Side::Internal => "internal",
        })
    }
}

/// A failed router operation. Route changes that fail leave the table exactly as it was.
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    #[error("site {site} is not in the route table; add it with set_table first")]
    UnknownSite { site: String },

    #[error("site {site} has no environment {environment}; add its backend to the site's environments first")]
    UnknownEnvironment { site: String, environment: String },

    #[error("site {site} has no address {address}; point it at a target first")]
    UnknownAddress { site: String, address: String },

    #[error("address {address} of site {site} is not a valid host pattern: {reason}")]
    InvalidAddress { site: String, address: String, reason: &'static str },

    #[error("address {address} is claimed by both site {first} and site {second}; an address can route to one site only")]
    DuplicateAddress { address: String, first: String, second: String },

    #[error("split on address {address} of site {site} asks for {percent} % of accounts; use 0 to 100")]
    InvalidPercent { site: String, address: String, percent: u8 },

    #[error("temporary address {address} of site {site} is already in use; pick an unused host")]
    AddressInUse { site: String, address: String },

    #[error("cannot listen on {addr}: {source}; check that the port is free and the address is local")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

impl RouterError {
    /// Every configuration error is the caller's request being refused, never the network.
    pub fn side(&self) -> Side {
        Side::Internal
    }
}

/// A request the router could not complete; logged, and answered with an error page.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("upstream: environment {environment} of site {site} at {backend} did not answer: {source}; check that the environment's process is running")]
    Upstream {
        site: String,
        environment: String,
        backend: SocketAddr,
        #[source]
        source: hyper_util::client::legacy::Error,
    },

    #[error("upstream: environment {environment} of site {site} at {backend} sent no response headers within {waited:?}; check the environment's process, or raise the router's upstream_response_timeout for slow pages")]
    UpstreamTimeout { site: String, environment: String, backend: SocketAddr, waited: std::time::Duration },
}

impl ProxyError {
    pub fn side(&self) -> Side {
        match self {
            ProxyError::Upstream { .. } | ProxyError::UpstreamTimeout { .. } => Side::Upstream,
        }
    }

    /// The status the client gets: 504 when the backend was too slow, 502 when it failed.
    pub fn status(&self) -> http::StatusCode {
        match self {
            ProxyError::Upstream { .. } => http::StatusCode::BAD_GATEWAY,
            ProxyError::UpstreamTimeout { .. } => http::StatusCode::GATEWAY_TIMEOUT,
        }
    }
}
