//! Logging in and who is asking: argon2 password hashes, session tokens (only their sha256 is
//! stored), the first-run administrator, and the audit log every change is written to.

use crate::{Service, ServiceError};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};
use switchyard_api::{AuditPage, Me, PasswordChange, Role, SessionInfo, Setup, User, UserDraft};
use switchyard_core::access::{Action, Principal};
use switchyard_core::Invalid;
use switchyard_store::NewAuditEntry;

type Result<T> = std::result::Result<T, ServiceError>;

/// The name of the session cookie the web UI carries.
pub const SESSION_COOKIE: &str = "switchyard_session";

/// How long a session lasts without logging in again.
pub const SESSION_DAYS: i64 = 14;

/// Who is asking, and from where: every service operation a person starts takes one.
#[derive(Debug, Clone)]
pub struct Caller {
    pub me: Me,
    /// The client's address, or `desktop` for the desktop app's in-process calls.
    pub remote: String,
}

impl Caller {
    /// Switchyard itself, for what it does on its own: seeding the demo, registering the local
    /// agent. Its changes are audited under the name `switchyard`.
    pub fn system() -> Caller {
        let me = Me {
            id: 0,
            username: "switchyard".into(),
            display_name: "Switchyard".into(),
            role: Role::Support,
            customer_id: None,
            admin: true,
        };
        Caller { me, remote: "local".into() }
    }

    pub fn principal(&self) -> Principal {
        Principal { role: self.me.role, admin: self.me.admin, customer_id: self.me.customer_id }
    }

    /// Refuses with the policy's reason when this caller may not do `action`.
    pub fn may(&self, action: Action) -> Result<()> {
        self.principal().may(action).map_err(|denied| ServiceError::Forbidden(denied.0))
    }

    /// The caller's user id; `None` for Switchyard acting on its own.
    pub fn user_id(&self) -> Option<i64> {
        (self.me.id != 0).then_some(self.me.id)
    }

    /// The engine's view of this person, for its approval rules: their id decides, the name is
    /// for messages.
    pub fn actor(&self) -> switchyard_core::workflow::Actor {
        switchyard_core::workflow::Actor::new(self.me.id, &self.me.username, self.me.role)
    }

    /// This person as the submitter of a release.
    pub fn submitter(&self) -> switchyard_core::workflow::Submitter {
        switchyard_core::workflow::Submitter::new(self.me.id, &self.me.username)
    }
}

/// A session just opened: the token goes into the cookie, never into the store.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub me: Me,
}

pub(crate) fn me(user: &User) -> Me {
    Me {
        id: user.id,
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        role: user.role,
        customer_id: user.customer_id,
        admin: user.admin,
    }
}

fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Hashes off the async threads: argon2 is deliberately slow.
pub(crate) async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| ServiceError::Internal(format!("cannot hash the password: {e}")))
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("the password hashing task failed: {e}")))?
}

pub(crate) async fn password_matches(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .unwrap_or(false)
}

impl Service {
    /// What the UI needs on start: whether to offer set-up, and who is logged in.
    pub async fn session_info(&self, token: Option<&str>) -> Result<SessionInfo> {
        let needs_setup = !self.store.anyone_can_log_in().await?;
        let me = match token {
            Some(token) => self.store.session_user(&token_digest(token)).await?.as_ref().map(me),
            None => None,
        };
        Ok(SessionInfo { needs_setup, me })
    }

    /// The caller a session token belongs to; refused when it is missing or expired.
    pub async fn caller(&self, token: Option<&str>, remote: &str) -> Result<Caller> {
        let Some(token) = token else {
            return Err(ServiceError::Unauthenticated("you are not logged in; log in first".into()));
        };
        match self.store.session_user(&token_digest(token)).await? {
            Some(user) => Ok(Caller { me: me(&user), remote: remote.to_owned() }),
            None => Err(ServiceError::Unauthenticated("your session has ended; log in again".into())),
        }
    }

    pub async fn logout(&self, token: Option<&str>, remote: &str) -> Result<()> {
        if let Some(token) = token {
            if let Some(user) = self.store.session_user(&token_digest(token)).await? {
                self.record((Some(user.id), &user.username), "logout", "session", "", remote).await;
            }
            self.store.delete_session(&token_digest(token)).await?;
        }
        Ok(())
    }

    /// Creates the first administrator (support staff who also manage users) and logs them in.
    pub async fn setup(&self, setup: Setup, remote: &str) -> Result<NewSession> {
        let draft = UserDraft {
            username: setup.username,
            display_name: setup.display_name,
            role: Role::Support,
            customer_id: None,
            admin: true,
            password: Some(setup.password),
        }
        .validated()?;
        let hash = hash_password(draft.password.clone().unwrap_or_default()).await?;
        let user = self.store.create_first_admin(&draft, &hash).await?;
        self.record((Some(user.id), &user.username), "setup", &format!("user {}", user.id), "created the first administrator", remote)
            .await;
        self.open_session(&user, remote).await
    }

    pub(crate) async fn open_session(&self, user: &User, remote: &str) -> Result<NewSession> {
        let token = hex::encode(rand::random::<[u8; 32]>());
        let expires = chrono::Utc::now() + chrono::Duration::days(SESSION_DAYS);
        let expires = expires.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        self.store.create_session(&token_digest(&token), user.id, remote, &expires).await?;
        self.record((Some(user.id), &user.username), "login", "session", "", remote).await;
        Ok(NewSession { token, me: me(user) })
    }

    /// Administrators set anyone's password; anyone sets their own, giving the current one (so
    /// a session left open is not enough to take the account over). Ends the user's sessions.
    /// An administrator setting someone else's password also removes their second factor, so
    /// a person who lost their authenticator can get back in.
    pub async fn change_password(&self, caller: &Caller, user_id: i64, change: PasswordChange) -> Result<()> {
        let own = caller.me.id == user_id;
        if !own {
            caller.may(Action::ManageUsers)?;
        }
        switchyard_core::validate::password("password", &change.password).map_err(|e| Invalid(vec![e]))?;
        let user = self.store.user(user_id).await?;
        if own {
            self.password_try_allowed(&user.username, &caller.remote)?;
            let current = change.current_password.clone().unwrap_or_default();
            let stored = self.store.user_for_login(&user.username).await?.and_then(|(_, hash)| hash);
            let matches = match stored {
                Some(hash) if current.len() <= crate::login::MAX_PASSWORD_BYTES => password_matches(current, hash).await,
                _ => false,
            };
            if !matches {
                self.password_try_failed(&user.username, &caller.remote).await;
                return Err(Invalid::single(
                    "current_password",
                    "the current password is wrong; to change your own password, give the one you log in with now",
                )
                .into());
            }
        }
        let hash = hash_password(change.password).await?;
        self.store.set_password(user_id, &hash).await?;
        self.store.delete_sessions_of(user_id).await?;
        if !own {
            self.store.remove_second_factor(user_id).await?;
        }
        self.audit(caller, "user.password", &format!("user {user_id}"), &format!("set the password of {}", user.username)).await;
        Ok(())
    }

    pub async fn audit_log(&self, caller: &Caller, limit: Option<i64>, offset: Option<i64>) -> Result<AuditPage> {
        caller.may(Action::ReadAudit)?;
        let limit = limit.unwrap_or(100).clamp(1, 1000);
        let offset = offset.unwrap_or(0).max(0);
        Ok(self.store.audit_page(limit, offset).await?)
    }

    /// Writes an audit entry for what `caller` just did. A failure to write it is logged, not
    /// returned: the change itself already happened.
    pub(crate) async fn audit(&self, caller: &Caller, action: &str, target: &str, detail: &str) {
        self.record((caller.user_id(), &caller.me.username), action, target, detail, &caller.remote).await;
    }

    /// `actor` is the user's id (none for Switchyard itself or a failed login) and name now.
    pub(crate) async fn record(&self, actor: (Option<i64>, &str), action: &str, target: &str, detail: &str, remote: &str) {
        let (actor_id, actor) = actor;
        let entry = NewAuditEntry { actor, actor_id, action, target, detail, remote };
        if let Err(e) = self.store.append_audit(&entry).await {
            tracing::error!("cannot write the audit entry {action} {target} by {actor}: {e}");
        }
    }
}
