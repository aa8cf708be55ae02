//! Identifiers, parsed once at the edge.

use std::fmt;
use std::str::FromStr;

/// Our internal customer key (database row id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomerId(pub i64);

/// Our internal staff key (database row id); not the Telegram id, which can change hands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StaffId(pub i64);

/// A Telegram user id (also the private chat id with that user).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TelegramUserId(pub i64);

/// The archive number printed on the customer archive card (档案编号), e.g. `KH-000123`.
///
/// Numbers come from a transactional counter, so they are gapless and the same on every
/// backend (a database sequence would skip numbers after a rolled-back import).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArchiveNo(String);

impl ArchiveNo {
    const PREFIX: &'static str = "KH-";

    pub fn from_number(n: i64) -> Self {
        Self(format!("{}{:06}", Self::PREFIX, n))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ArchiveNo {
    type Err = ();

    /// Accepts `KH-000123`, `kh-123` and `KH000123`; the canonical form is returned.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let upper = s.to_ascii_uppercase();
        let digits = upper.strip_prefix("KH-").or_else(|| upper.strip_prefix("KH")).ok_or(())?;
        if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(());
        }
        let n: i64 = digits.parse().map_err(|_| ())?;
        Ok(Self::from_number(n))
    }
}

impl fmt::Display for ArchiveNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_numbers_are_zero_padded_and_parse_leniently() {
        assert_eq!(ArchiveNo::from_number(123).as_str(), "KH-000123");
        for input in ["KH-000123", "kh-123", "KH000123", " KH-123 "] {
            assert_eq!(input.parse::<ArchiveNo>().unwrap().as_str(), "KH-000123");
        }
        for bad in ["", "KH-", "KH-12a", "123", "KX-1"] {
            assert!(bad.parse::<ArchiveNo>().is_err(), "{bad}");
        }
    }
}
