//! Who is signed in: the first-run set-up, login and the session the UI reads on start.
//! Requests that carry a password, code or secret leave it out of `Debug`.

use serde::{Deserialize, Serialize};
use switchyard_core::Role;

/// The person a session belongs to, as the UI needs it to decide what to offer. The server
/// enforces the same rules whatever the UI offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// The customer a `customer` user belongs to; they see only this customer's sites.
    pub customer_id: Option<i64>,
    /// Administrators also manage users.
    pub admin: bool,
}

/// `GET /session`: always answers, so the UI knows whether to show set-up, login or the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// No user exists yet: the first visitor creates the administrator.
    pub needs_setup: bool,
    pub me: Option<Me>,
}

/// `POST /session`: log in. The answer sets an HTTP-only session cookie.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    pub username: String,
    pub password: String,
    /// The 6-digit code from the authenticator app, for an account with a second factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// `POST /session/totp`: a second factor being enrolled. The secret is shown this once; it
/// takes effect when a code from it is confirmed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpEnrolment {
    /// `otpauth://totp/...`, for an authenticator app (as a QR code or pasted).
    pub otpauth_uri: String,
    /// The same secret in base32, for typing in by hand.
    pub secret: String,
}

/// `POST /session/totp/confirm`: a code from the enrolled secret, which switches it on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpCode {
    pub code: String,
}

/// `POST /setup`: creates the first administrator (role support, admin) and logs them in.
/// Refused once any user exists.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setup {
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    pub password: String,
}

/// `PUT /users/{id}/password`: an administrator sets anyone's password; a user sets their own.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordChange {
    pub password: String,
    /// The caller's current password: required when changing one's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_password: Option<String>,
}

/// One line of the audit log: every change anyone made, who, when and from where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    /// The username, or `-` before anyone logged in (a failed login names the attempt).
    pub actor: String,
    /// What was done, e.g. `site.create`, `release.approve`, `login.failed`.
    pub action: String,
    /// What it was done to, e.g. `site 3`, `release 12`.
    pub target: String,
    /// A short human account: the comment, the new name, the reason.
    pub detail: String,
    /// The client's address (`127.0.0.1`, `desktop`).
    pub remote: String,
}

/// `GET /audit`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub total: i64,
    pub entries: Vec<AuditEntry>,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login").field("username", &self.username).field("password", &"<redacted>").field("code", &"<redacted>").finish()
    }
}

impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordChange").field("password", &"<redacted>").field("current_password", &"<redacted>").finish()
    }
}

impl std::fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpEnrolment").field("otpauth_uri", &"<redacted>").field("secret", &"<redacted>").finish()
    }
}

impl std::fmt::Debug for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Setup")
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("password", &"<redacted>")
            .finish()
    }
}
