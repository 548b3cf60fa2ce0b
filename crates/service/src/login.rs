//! Logging in: per-account and per-address throttling (core's `login_throttle` rule), the same
//! argon2 work for unknown users as for known ones, bounded fields before anything is written,
//! and the second factor for accounts that enrolled one.

use crate::auth::{hash_password, password_matches, NewSession};
use crate::{Service, ServiceError};
use std::collections::HashMap;
use std::sync::Mutex;
use switchyard_api::Login;
use switchyard_core::login_throttle::{Attempts, Verdict, LOGIN_POLICY};
use switchyard_core::Invalid;
use tokio::sync::OnceCell;

type Result<T> = std::result::Result<T, ServiceError>;

/// The longest username a login may name, in bytes (usernames are DNS-label slugs).
pub const MAX_USERNAME_BYTES: usize = 64;
/// The longest password a login may send, in bytes (core allows 200 characters).
pub const MAX_PASSWORD_BYTES: usize = 1024;
const MAX_CODE_BYTES: usize = 16;
/// Past this many remembered accounts or addresses, spent entries are dropped.
const MAX_REMEMBERED: usize = 10_000;

const WRONG_LOGIN: &str = "wrong username or password; check both, or ask an administrator to set a new password";

/// Recent failures by account and by client address, kept in memory (a restart forgets them).
#[derive(Debug, Default)]
pub(crate) struct Throttles {
    accounts: Mutex<HashMap<String, Attempts>>,
    addresses: Mutex<HashMap<String, Attempts>>,
    /// An argon2 hash of nothing anyone knows, verified for unknown users so they cost the
    /// same as known ones.
    dummy_hash: OnceCell<String>,
}

/// Which throttle refused, for the message and the audit target.
enum Refusal {
    Wait(i64),
    Locked(i64),
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// An attacker-chosen name as the audit log may hold it: escaped, at most
/// [`MAX_USERNAME_BYTES`] bytes, marked when cut.
pub(crate) fn bounded_name(name: &str) -> String {
    let escaped: String = name.trim().escape_debug().collect();
    if escaped.len() <= MAX_USERNAME_BYTES {
        return escaped;
    }
    let mut end = MAX_USERNAME_BYTES - 3;
    while !escaped.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &escaped[..end])
}

impl Throttles {
    fn verdict(&self, account: &str, address: &str, now: i64) -> Option<Refusal> {
        let verdicts = [
            self.accounts.lock().expect("throttle poisoned").get(account).map(|a| a.verdict(&LOGIN_POLICY, now)),
            self.addresses.lock().expect("throttle poisoned").get(address).map(|a| a.verdict(&LOGIN_POLICY, now)),
        ];
        let mut refusal = None;
        for verdict in verdicts.into_iter().flatten() {
            refusal = match (verdict, refusal) {
                (Verdict::Locked { until_ms }, _) => Some(Refusal::Locked(until_ms)),
                (Verdict::Wait { retry_after_ms }, None) => Some(Refusal::Wait(retry_after_ms)),
                (_, kept) => kept,
            };
        }
        refusal
    }

    /// Records a failure; answers which of the two (account, address) it just locked out.
    fn fail(&self, account: Option<&str>, address: &str, now: i64) -> (bool, bool) {
        let record = |map: &Mutex<HashMap<String, Attempts>>, key: &str| {
            let mut map = map.lock().expect("throttle poisoned");
            if map.len() > MAX_REMEMBERED {
                map.retain(|_, attempts| !attempts.is_spent(&LOGIN_POLICY, now));
            }
            map.entry(key.to_owned()).or_default().fail(&LOGIN_POLICY, now)
        };
        let account_locked = account.is_some_and(|account| record(&self.accounts, account));
        (account_locked, record(&self.addresses, address))
    }

    fn succeeded(&self, account: &str) {
        self.accounts.lock().expect("throttle poisoned").remove(account);
    }

    async fn dummy_hash(&self) -> Result<&str> {
        let hash = self.dummy_hash.get_or_try_init(|| hash_password(hex::encode(rand::random::<[u8; 16]>()))).await?;
        Ok(hash)
    }
}

impl Service {
    pub async fn login(&self, login: Login, remote: &str) -> Result<NewSession> {
        let now = now_ms();
        let username = login.username.trim();
        let too_long = [
            ("username", username.len() > MAX_USERNAME_BYTES, MAX_USERNAME_BYTES),
            ("password", login.password.len() > MAX_PASSWORD_BYTES, MAX_PASSWORD_BYTES),
            ("code", login.code.as_ref().is_some_and(|c| c.len() > MAX_CODE_BYTES), MAX_CODE_BYTES),
        ];
        if let Some((field, _, limit)) = too_long.into_iter().find(|(_, over, _)| *over) {
            self.failed_login(None, username, &format!("the {field} is longer than {limit} bytes"), remote, now).await;
            return Err(Invalid::single(field, format!("a {field} has at most {limit} bytes")).into());
        }
        let account = username.to_lowercase();
        if let Some(refusal) = self.logins.verdict(&account, remote, now) {
            // A try while asked to wait counts: a person rarely makes one, a script always does.
            // Tries during a lockout are not written one by one: the lockout's entry stands for them.
            if let Refusal::Wait(_) = refusal {
                self.failed_login(Some(&account), username, "tried again too soon", remote, now).await;
            }
            return Err(too_many(refusal));
        }

        let found = self.store.user_for_login(username).await?;
        let (user, hash) = match found {
            Some((user, Some(hash))) => (Some(user), hash),
            // Unknown users and users without a password verify against the dummy hash, so
            // the answer takes as long as a wrong password of a real user.
            _ => (None, self.logins.dummy_hash().await?.to_owned()),
        };
        let matches = password_matches(login.password.clone(), hash).await;
        let Some(user) = user.filter(|_| matches) else {
            self.failed_login(Some(&account), username, "wrong username or password", remote, now).await;
            return Err(ServiceError::Unauthenticated(WRONG_LOGIN.into()));
        };
        if let Some(problem) = self.check_second_factor(user.id, login.code.as_deref()).await? {
            if login.code.is_some() {
                self.failed_login(Some(&account), username, "wrong second-factor code", remote, now).await;
            }
            return Err(ServiceError::Unauthenticated(problem));
        }
        self.logins.succeeded(&account);
        self.open_session(&user, remote).await
    }

    /// Refused while the account or address must wait or is locked out: checking a current
    /// password (to change it) is a guess like a login.
    pub(crate) fn password_try_allowed(&self, username: &str, remote: &str) -> Result<()> {
        match self.logins.verdict(&username.to_lowercase(), remote, now_ms()) {
            Some(refusal) => Err(too_many(refusal)),
            None => Ok(()),
        }
    }

    pub(crate) async fn password_try_failed(&self, username: &str, remote: &str) {
        self.failed_login(Some(&username.to_lowercase()), username, "wrong current password", remote, now_ms()).await;
    }

    /// Counts a failed try against the account and the address and writes it (and any lockout
    /// it starts) to the audit log with the name bounded.
    async fn failed_login(&self, account: Option<&str>, username: &str, why: &str, remote: &str, now: i64) {
        let name = bounded_name(username);
        self.record((None, &name), "login.failed", "session", why, remote).await;
        let (account_locked, address_locked) = self.logins.fail(account, remote, now);
        let minutes = LOGIN_POLICY.lockout_ms / 60_000;
        let failures = LOGIN_POLICY.lockout_after;
        if account_locked {
            let detail = format!("{failures} failed logins within 15 minutes; logins as {name} refused for {minutes} minutes");
            self.record((None, &name), "login.locked", &format!("user {name}"), &detail, remote).await;
        }
        if address_locked {
            let detail = format!("{failures} failed logins within 15 minutes; logins from {remote} refused for {minutes} minutes");
            self.record((None, &name), "login.locked", &format!("address {remote}"), &detail, remote).await;
        }
    }
}

fn too_many(refusal: Refusal) -> ServiceError {
    match refusal {
        Refusal::Wait(ms) => ServiceError::TooManyAttempts(format!(
            "too many failed logins for this account or from your address; wait {} s before trying again",
            (ms + 999) / 1000
        )),
        Refusal::Locked(until_ms) => {
            let until = chrono::DateTime::from_timestamp_millis(until_ms).map(|t| t.format("%H:%M UTC").to_string()).unwrap_or_default();
            ServiceError::TooManyAttempts(format!(
                "logins for this account or from your address are locked until {until} after repeated failures; \
                 try again then, or ask an administrator"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_for_the_audit_log_is_escaped_and_cut_to_the_limit() {
        assert_eq!(bounded_name(" ada "), "ada");
        assert_eq!(bounded_name("a\nb"), "a\\nb");
        let long = bounded_name(&"é".repeat(1000));
        assert!(long.len() <= MAX_USERNAME_BYTES && long.ends_with("..."), "{long}");
    }
}
