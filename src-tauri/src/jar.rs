//! The desktop app's cookie jar. The window never sees the session cookie (it is HttpOnly and
//! the window talks to Rust, not to a server): the shell keeps what `Set-Cookie` headers set and
//! sends it back on later requests, in standalone and team mode alike.

use std::collections::BTreeMap;

/// Cookies by name for the current target. Kept in memory only: closing the app logs out.
#[derive(Debug, Default)]
pub struct CookieJar {
    cookies: BTreeMap<String, String>,
}

impl CookieJar {
    /// Applies one `Set-Cookie` header: stores the cookie, or removes it when the server expired
    /// it (`Max-Age=0`, an empty value, or an `Expires` date in the past, as logout sends).
    pub fn store(&mut self, set_cookie: &str) {
        let mut parts = set_cookie.split(';');
        let Some((name, value)) = parts.next().and_then(|pair| pair.split_once('=')) else { return };
        let (name, value) = (name.trim(), value.trim().trim_matches('"'));
        if name.is_empty() {
            return;
        }
        let expired = value.is_empty()
            || parts.any(|attribute| {
                let (key, setting) = attribute.split_once('=').unwrap_or((attribute, ""));
                let key = key.trim().to_ascii_lowercase();
                let setting = setting.trim();
                (key == "max-age" && setting.parse::<i64>().is_ok_and(|age| age <= 0)) || (key == "expires" && setting.contains("1970"))
            });
        if expired {
            self.cookies.remove(name);
        } else {
            self.cookies.insert(name.to_owned(), value.to_owned());
        }
    }

    /// The `Cookie` header to send, if any cookie is held.
    pub fn header(&self) -> Option<String> {
        if self.cookies.is_empty() {
            return None;
        }
        Some(self.cookies.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("; "))
    }

    /// The value of one cookie, e.g. to tell whether anyone is signed in.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    /// Forgets everything: a new target means a new session.
    pub fn clear(&mut self) {
        self.cookies.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_cookie_is_sent_back_and_a_logout_removes_it() {
        let mut jar = CookieJar::default();
        assert_eq!(jar.header(), None);
        jar.store("switchyard_session=abc123; HttpOnly; SameSite=Strict; Path=/; Max-Age=2592000");
        assert_eq!(jar.header().as_deref(), Some("switchyard_session=abc123"));
        assert_eq!(jar.get("switchyard_session"), Some("abc123"));
        jar.store("theme=dark; Path=/");
        assert_eq!(jar.header().as_deref(), Some("switchyard_session=abc123; theme=dark"));
        jar.store("switchyard_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
        assert_eq!(jar.header().as_deref(), Some("theme=dark"));
        jar.store("theme=dark; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(jar.header(), None);
    }

    #[test]
    fn malformed_headers_change_nothing() {
        let mut jar = CookieJar::default();
        jar.store("a=1");
        for junk in ["", "novalue", "=x", ";;"] {
            jar.store(junk);
        }
        assert_eq!(jar.header().as_deref(), Some("a=1"));
        jar.clear();
        assert_eq!(jar.header(), None);
    }
}
