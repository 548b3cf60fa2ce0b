//! The agent's identity: a self-signed TLS certificate and a bearer token, made on first start
//! and reused afterwards. Registering the host stores the URL, the token and the certificate's
//! sha256 fingerprint, which the client pins instead of trusting a CA.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;

use rand::Rng;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

use crate::error::{io_context, AgentError, Result};
use crate::layout::Layout;

pub struct Identity {
    pub token: String,
    pub fingerprint: String,
    pub tls: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a secret: never in logs.
        f.debug_struct("Identity").field("token", &"<redacted>").field("fingerprint", &self.fingerprint).finish()
    }
}

/// The sha256 of a DER certificate, as 64 lowercase hex digits.
pub fn fingerprint(cert_der: &[u8]) -> String {
    hex::encode(Sha256::digest(cert_der))
}

/// Loads the identity from `<root>/agent`, creating it on first start.
pub fn load_or_create(layout: &Layout, extra_names: &[String]) -> Result<Identity> {
    let dir = layout.identity_dir();
    let (cert_path, key_path, token_path) = (dir.join("cert.pem"), dir.join("key.pem"), dir.join("token"));
    if !cert_path.exists() || !key_path.exists() {
        let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        names.extend(extra_names.iter().cloned());
        let certified = rcgen::generate_simple_self_signed(names)
            .map_err(|e| AgentError::Internal(format!("cannot generate the agent's TLS certificate: {e}")))?;
        write_secret(&key_path, certified.key_pair.serialize_pem().as_bytes())?;
        write_secret(&cert_path, certified.cert.pem().as_bytes())?;
        tracing::info!("generated a self-signed certificate in {}", cert_path.display());
    }
    if !token_path.exists() {
        let bytes: [u8; 32] = rand::thread_rng().gen();
        write_secret(&token_path, hex::encode(bytes).as_bytes())?;
        tracing::info!("generated the agent token in {}", token_path.display());
    }
    let token =
        std::fs::read_to_string(&token_path).map_err(io_context(format!("cannot read {}", token_path.display())))?.trim().to_owned();
    let cert = CertificateDer::from_pem_file(&cert_path).map_err(|e| {
        AgentError::Internal(format!("cannot read the certificate {} ({e}): delete it and key.pem to make a new one", cert_path.display()))
    })?;
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| {
        AgentError::Internal(format!("cannot read the key {} ({e}): delete it and cert.pem to make a new one", key_path.display()))
    })?;
    let fingerprint = fingerprint(&cert);
    let tls = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(vec![cert], key))
        .map_err(|e| AgentError::Internal(format!("cannot set up TLS with {}: {e}", cert_path.display())))?;
    Ok(Identity { token, fingerprint, tls: Arc::new(tls) })
}

fn write_secret(path: &Path, contents: &[u8]) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io_context(format!("cannot create {}", path.display())))?;
    file.write_all(contents).and_then(|_| file.sync_all()).map_err(io_context(format!("cannot write {}", path.display())))
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
