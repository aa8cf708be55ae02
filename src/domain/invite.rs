//! One-time staff invitation codes.

use chrono::{DateTime, Duration, Utc};

/// How long an invitation code can be redeemed.
pub const INVITE_VALIDITY: Duration = Duration::days(7);

/// Alphabet without look-alikes (0/O, 1/I/L) so a code read over the phone survives.
pub const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
pub const CODE_LEN: usize = 10;

/// Why an invitation cannot be redeemed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteProblem {
    Unknown,
    AlreadyUsed,
    Expired,
}

/// Decide whether an invitation issued at `created_at` (and maybe used already) is still good.
pub fn check_invite(created_at: DateTime<Utc>, used: bool, now: DateTime<Utc>) -> Result<(), InviteProblem> {
    if used {
        return Err(InviteProblem::AlreadyUsed);
    }
    if now - created_at > INVITE_VALIDITY {
        return Err(InviteProblem::Expired);
    }
    Ok(())
}

/// Normalise what a person typed: trims, upper-cases; `None` when it cannot be a code.
pub fn normalise_code(input: &str) -> Option<String> {
    let code = input.trim().to_ascii_uppercase();
    (code.len() == CODE_LEN && code.bytes().all(|b| CODE_ALPHABET.contains(&b))).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_good_for_seven_days_and_once() {
        let t0 = DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z").unwrap().to_utc();
        assert_eq!(check_invite(t0, false, t0 + Duration::days(7)), Ok(()));
        assert_eq!(check_invite(t0, false, t0 + Duration::days(7) + Duration::seconds(1)), Err(InviteProblem::Expired));
        assert_eq!(check_invite(t0, true, t0), Err(InviteProblem::AlreadyUsed));
    }

    #[test]
    fn codes_are_normalised() {
        assert_eq!(normalise_code(" abcdefghjk "), Some("ABCDEFGHJK".into()));
        assert_eq!(normalise_code("ABCDEFGHJ0"), None);
        assert_eq!(normalise_code("SHORT"), None);
    }
}
