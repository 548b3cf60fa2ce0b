//! The optional second factor of support staff and administrators: enrol (the secret shown
//! once as an `otpauth://` URI), confirm with a code, and from then on a code at every login.

use crate::auth::Caller;
use crate::secrets::Purpose;
use crate::{totp, Service, ServiceError};
use switchyard_api::{Role, TotpEnrolment};
use switchyard_core::Invalid;

type Result<T> = std::result::Result<T, ServiceError>;

impl Service {
    /// Starts enrolling a second factor for the caller. Refused while one is on, so a session
    /// left open cannot swap it; an administrator setting the password removes it.
    pub async fn enrol_second_factor(&self, caller: &Caller) -> Result<TotpEnrolment> {
        let Some(user_id) = caller.user_id() else {
            return Err(ServiceError::Forbidden("Switchyard itself has no second factor".into()));
        };
        if caller.me.role != Role::Support && !caller.me.admin {
            return Err(ServiceError::Forbidden(
                "a second factor is for support staff and administrators; customers and managers log in with a password".into(),
            ));
        }
        if self.store.second_factor(user_id).await?.is_some_and(|factor| factor.enabled) {
            return Err(ServiceError::Conflict(
                "your account already has a second factor; to enrol a new one, ask an administrator to set your password (which removes it)"
                    .into(),
            ));
        }
        let secret = totp::new_secret();
        let sealed = self.secrets.seal(Purpose::SecondFactor, &hex::encode(&secret))?;
        self.store.begin_second_factor(user_id, &sealed).await?;
        self.audit(caller, "user.totp.enrol", &format!("user {user_id}"), "started enrolling a second factor").await;
        Ok(TotpEnrolment { otpauth_uri: totp::otpauth_uri(&caller.me.username, &secret), secret: totp::base32(&secret) })
    }

    /// Switches the enrolled second factor on once a code from it is right.
    pub async fn confirm_second_factor(&self, caller: &Caller, code: &str) -> Result<()> {
        let user_id = caller.user_id().ok_or_else(|| ServiceError::Forbidden("Switchyard itself has no second factor".into()))?;
        let Some(factor) = self.store.second_factor(user_id).await? else {
            return Err(ServiceError::Conflict("no second factor is being enrolled; start with POST /session/totp".into()));
        };
        if factor.enabled {
            return Err(ServiceError::Conflict("your second factor is already on".into()));
        }
        let secret = self.second_factor_secret(&factor.sealed_secret)?;
        let Some(step) = totp::matching_step(&secret, code, chrono::Utc::now().timestamp()) else {
            return Err(
                Invalid::single("code", "that code is not the current one; type the 6 digits your authenticator app shows now").into()
            );
        };
        self.store.enable_second_factor(user_id, step).await?;
        self.audit(caller, "user.totp.on", &format!("user {user_id}"), "switched a second factor on").await;
        Ok(())
    }

    /// After the right password: `None` when the login may go ahead, or what is missing. A code
    /// works once; an enrolment never confirmed asks for nothing.
    pub(crate) async fn check_second_factor(&self, user_id: i64, code: Option<&str>) -> Result<Option<String>> {
        let Some(factor) = self.store.second_factor(user_id).await?.filter(|factor| factor.enabled) else { return Ok(None) };
        let Some(code) = code.filter(|code| !code.trim().is_empty()) else {
            return Ok(Some("this account has a second factor: give the 6-digit code from your authenticator app too".into()));
        };
        let secret = self.second_factor_secret(&factor.sealed_secret)?;
        let wrong = "wrong second-factor code, or one already used; type the code your authenticator app shows now";
        match totp::matching_step(&secret, code, chrono::Utc::now().timestamp()) {
            Some(step) if self.store.use_second_factor_step(user_id, step).await? => Ok(None),
            _ => Ok(Some(wrong.into())),
        }
    }

    fn second_factor_secret(&self, sealed: &str) -> Result<Vec<u8>> {
        self.secrets.open(Purpose::SecondFactor, sealed)?.and_then(|text| hex::decode(text).ok()).ok_or_else(|| {
            ServiceError::Internal(
                "the second factor's secret cannot be decrypted (was the secrets key replaced?); an administrator can remove it by setting the password"
                    .into(),
            )
        })
    }
}
