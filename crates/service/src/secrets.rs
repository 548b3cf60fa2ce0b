//! Secrets Switchyard keeps for itself (agent tokens, second-factor secrets), sealed with
//! ChaCha20-Poly1305 under a key in a file beside the database that only the server reads.
//!
//! A copy of the database alone therefore reveals no token. The key file is created (mode
//! 0600) on first use; losing it means entering each host's token again.

use crate::ServiceError;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// What a sealed value is for; part of the authenticated data, so a sealed second-factor
/// secret cannot be passed off as a host token.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Purpose {
    HostToken,
    SecondFactor,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::HostToken => b"switchyard host token v1",
            Purpose::SecondFactor => b"switchyard totp secret v1",
        }
    }
}

/// The key, loaded from (or created in) its file the first time something is sealed or opened.
#[derive(Debug)]
pub(crate) struct Secrets {
    path: PathBuf,
    key: OnceLock<Key>,
}

const VERSION: &str = "v1:";

impl Secrets {
    pub(crate) fn in_dir(dir: &Path) -> Self {
        Self { path: dir.join("secrets.key"), key: OnceLock::new() }
    }

    fn cipher(&self) -> Result<ChaCha20Poly1305, ServiceError> {
        if let Some(key) = self.key.get() {
            return Ok(ChaCha20Poly1305::new(key));
        }
        let key = load_or_create(&self.path).map_err(|e| {
            ServiceError::Internal(format!(
                "cannot use the secrets key {}: {e}; it must be a file only Switchyard's user can read",
                self.path.display()
            ))
        })?;
        Ok(ChaCha20Poly1305::new(self.key.get_or_init(|| key)))
    }

    pub(crate) fn seal(&self, purpose: Purpose, plain: &str) -> Result<String, ServiceError> {
        let cipher = self.cipher()?;
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = cipher
            .encrypt(&nonce, Payload { msg: plain.as_bytes(), aad: purpose.label() })
            .map_err(|_| ServiceError::Internal("cannot encrypt a secret".into()))?;
        Ok(format!("{VERSION}{}{}", hex::encode(nonce), hex::encode(sealed)))
    }

    /// The plain value, or `None` when it does not open with this key (edited, or sealed under
    /// another key): the caller asks for the secret again.
    pub(crate) fn open(&self, purpose: Purpose, sealed: &str) -> Result<Option<String>, ServiceError> {
        let cipher = self.cipher()?;
        let Some(bytes) = sealed.strip_prefix(VERSION).and_then(|hex_text| hex::decode(hex_text).ok()) else { return Ok(None) };
        if bytes.len() < 12 {
            return Ok(None);
        }
        let (nonce, sealed) = bytes.split_at(12);
        let plain = cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad: purpose.label() }).ok();
        Ok(plain.and_then(|plain| String::from_utf8(plain).ok()))
    }
}

fn load_or_create(path: &Path) -> std::io::Result<Key> {
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(mut file) => {
            let key = ChaCha20Poly1305::generate_key(&mut OsRng);
            file.write_all(hex::encode(key).as_bytes())?;
            file.sync_all()?;
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let metadata = std::fs::metadata(path)?;
            if metadata.permissions().mode() & 0o077 != 0 {
                // Readable by others: tighten it rather than keep serving from a leaked key file.
                tracing::warn!("{} was readable by other users; setting it to mode 0600", path.display());
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            }
            let text = std::fs::read_to_string(path)?;
            let bytes = hex::decode(text.trim()).ok().filter(|b| b.len() == 32).ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, "it does not hold a 32-byte key in hex; restore it from a backup")
            })?;
            Ok(*Key::from_slice(&bytes))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_token_opens_only_with_its_key_and_purpose_and_the_key_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = Secrets::in_dir(dir.path());
        let sealed = secrets.seal(Purpose::HostToken, "agent-token-0123456789").unwrap();
        assert!(!sealed.contains("agent-token"), "{sealed}");
        assert_eq!(secrets.open(Purpose::HostToken, &sealed).unwrap().as_deref(), Some("agent-token-0123456789"));
        assert_eq!(secrets.open(Purpose::SecondFactor, &sealed).unwrap(), None);
        let mode = std::fs::metadata(dir.path().join("secrets.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        let reopened = Secrets::in_dir(dir.path());
        assert_eq!(reopened.open(Purpose::HostToken, &sealed).unwrap().as_deref(), Some("agent-token-0123456789"));
        let other = tempfile::tempdir().unwrap();
        assert_eq!(Secrets::in_dir(other.path()).open(Purpose::HostToken, &sealed).unwrap(), None);
        let last = if sealed.ends_with('0') { "1" } else { "0" };
        let tampered = format!("{}{last}", &sealed[..sealed.len() - 1]);
        assert_eq!(secrets.open(Purpose::HostToken, &tampered).unwrap(), None);
    }
}
