//! Time-based one-time codes (RFC 6238 over RFC 4226's HOTP, HMAC-SHA1, 30 s, 6 digits), the
//! second factor support staff and administrators may enrol.

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Seconds per code.
pub(crate) const STEP_SECONDS: i64 = 30;
const DIGITS: u32 = 6;
/// A code from the step before or after now is still accepted (clocks drift, people type).
const SKEW_STEPS: i64 = 1;

/// A new random 160-bit secret, as RFC 4226 recommends.
pub(crate) fn new_secret() -> Vec<u8> {
    rand::random::<[u8; 20]>().to_vec()
}

/// The code for time step `step` (Unix seconds / 30).
pub(crate) fn code_at(secret: &[u8], step: i64) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(&(step as u64).to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let binary = u32::from_be_bytes([digest[offset] & 0x7f, digest[offset + 1], digest[offset + 2], digest[offset + 3]]);
    format!("{:0width$}", binary % 10u32.pow(DIGITS), width = DIGITS as usize)
}

/// The time step `code` belongs to, if it is one of the codes around `unix_seconds`.
pub(crate) fn matching_step(secret: &[u8], code: &str, unix_seconds: i64) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = unix_seconds.div_euclid(STEP_SECONDS);
    // Every candidate is computed and compared in full, so the answer's timing does not say
    // which step (or which digit) matched.
    let mut found = None;
    for step in now - SKEW_STEPS..=now + SKEW_STEPS {
        let expected = code_at(secret, step);
        let differs = expected.bytes().zip(code.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if differs == 0 && found.is_none() {
            found = Some(step);
        }
    }
    found
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding, as authenticator apps read it.
pub(crate) fn base32(bytes: &[u8]) -> String {
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            out.push(BASE32[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(BASE32[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The `otpauth://` URI an authenticator app enrols from.
pub(crate) fn otpauth_uri(username: &str, secret: &[u8]) -> String {
    let label: String = username
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b == b'-' { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    format!(
        "otpauth://totp/Switchyard:{label}?secret={}&issuer=Switchyard&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        base32(secret)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA1 rows (the RFC prints 8 digits; the last 6 are ours).
    #[test]
    fn codes_match_the_rfc_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, code8) in [(59, "94287082"), (1111111109, "07081804"), (1234567890, "89005924"), (2000000000, "69279037")] {
            assert_eq!(code_at(secret, time / STEP_SECONDS), code8[2..], "at {time}");
        }
    }

    #[test]
    fn a_code_matches_its_step_and_the_neighbours_only() {
        let secret = b"12345678901234567890";
        assert_eq!(matching_step(secret, "287082", 59), Some(1));
        assert_eq!(matching_step(secret, " 287082 ", 59 + 30), Some(1), "one step late is accepted");
        assert_eq!(matching_step(secret, "287082", 59 + 90), None, "three steps late is not");
        assert_eq!(matching_step(secret, "28708", 59), None);
        assert_eq!(matching_step(secret, "abcdef", 59), None);
    }

    #[test]
    fn base32_is_rfc_4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"12345678901234567890"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert!(otpauth_uri("ada", b"12345678901234567890").starts_with("otpauth://totp/Switchyard:ada?secret=GEZDGNBV"));
    }
}
