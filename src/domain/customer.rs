//! The customer archive card (客户档案表) and its value types.
//!
//! Field names follow the card in the customer archive procedure (客户档案管理方案): basic
//! data (name, address, postcode, phone, fax, e-mail, website, founding date, registered
//! capital, main shareholders, bank and account), business data (nature of company, standing
//! in the industry, main and side business, staff numbers), credit rating and notes.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::ids::{ArchiveNo, CustomerId, StaffId};

/// ABC tiering (ABC分类管理): A is about 20 % of customers and gets the closest attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    A,
    B,
    C,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Self::A, Self::B, Self::C];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::B => "B",
            Self::C => "C",
        }
    }
}

impl FromStr for Tier {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "A" | "a" => Ok(Self::A),
            "B" | "b" => Ok(Self::B),
            "C" | "c" => Ok(Self::C),
            _ => Err(()),
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Tiers are stored and exchanged as their letter.
impl Serialize for Tier {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Tier {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(|()| serde::de::Error::custom(format!("unknown tier {s}")))
    }
}

/// A customer (company) name: trimmed, not empty, at most 200 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerName(String);

impl CustomerName {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let name = input.trim();
        if name.is_empty() {
            return Err(FieldError::Empty);
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::TooLong(Self::MAX_CHARS));
        }
        if name.chars().any(char::is_control) {
            return Err(FieldError::ControlCharacters);
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number as people write it in China: digits with optional `+`, spaces, dashes,
/// parentheses and an extension; 5 to 20 digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let phone = input.trim();
        let allowed = |c: char| c.is_ascii_digit() || " +-()#转".contains(c);
        let digits = phone.chars().filter(char::is_ascii_digit).count();
        if phone.is_empty() {
            return Err(FieldError::Empty);
        }
        if !phone.chars().all(allowed) || !(5..=20).contains(&digits) {
            return Err(FieldError::InvalidPhone);
        }
        Ok(Self(phone.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Only the digits: what two spellings of one number have in common.
    pub fn digits(&self) -> String {
        self.0.chars().filter(char::is_ascii_digit).collect()
    }
}

/// An e-mail address: one `@`, something on both sides, no spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let email = input.trim();
        let valid = match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !email.chars().any(|c| c.is_whitespace() || c.is_control())
                    && !domain.contains('@')
            }
            None => false,
        };
        if valid { Ok(Self(email.to_owned())) } else { Err(FieldError::InvalidEmail) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a field value was refused; rendered for the user by a template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("must not be empty")]
    Empty,
    #[error("longer than {0} characters")]
    TooLong(usize),
    #[error("contains control characters")]
    ControlCharacters,
    #[error("not a phone number")]
    InvalidPhone,
    #[error("not an e-mail address")]
    InvalidEmail,
    #[error("not a date (YYYY-MM-DD)")]
    InvalidDate,
    #[error("unknown tier (A, B or C)")]
    InvalidTier,
}

/// Free text for an optional card field: trimmed; empty or `-` means "not given".
pub fn optional_text(input: &str) -> Option<String> {
    let text = input.trim();
    (!text.is_empty() && text != "-").then(|| text.to_owned())
}

/// Everything on the archive card that is not a relation to another table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CardFields {
    pub region: Option<String>,
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub phone: Option<String>,
    pub fax: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub industry: Option<String>,
    /// 公司性质: listed, private limited, joint venture, wholly foreign-owned, state-owned.
    pub nature: Option<String>,
    /// 同业地位: leader, influential, medium, small, other.
    pub industry_standing: Option<String>,
    pub main_business: Option<String>,
    pub founded_on: Option<NaiveDate>,
    pub registered_capital: Option<String>,
    pub main_shareholders: Option<String>,
    pub bank: Option<String>,
    pub bank_account: Option<String>,
    pub employees: Option<i64>,
    pub credit_rating: Option<String>,
    pub notes: Option<String>,
}

/// A customer as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub id: CustomerId,
    pub archive_no: ArchiveNo,
    pub name: String,
    pub tier: Tier,
    pub owner: Option<StaffId>,
    pub created_on: NaiveDate,
    pub fields: CardFields,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(CustomerName::parse("  华东机械  ").unwrap().as_str(), "华东机械");
        assert_eq!(CustomerName::parse("   "), Err(FieldError::Empty));
        assert_eq!(CustomerName::parse(&"字".repeat(201)), Err(FieldError::TooLong(200)));
        assert_eq!(CustomerName::parse("a\u{7}b"), Err(FieldError::ControlCharacters));
    }

    #[test]
    fn phones_accept_what_people_write() {
        for ok in ["13800138000", "+86 138-0013-8000", "(021) 6888 1234", "021-68881234转808"] {
            assert!(Phone::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "call me", "123", "1234567890123456789012"] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Phone::parse("+86 138-0013-8000").unwrap().digits(), "8613800138000");
    }

    #[test]
    fn emails_need_a_domain() {
        assert!(EmailAddress::parse("li.ming@example.cn").is_ok());
        for bad in ["li", "li@", "@x.cn", "li@cn", "li ming@x.cn", "a@b@c.cn"] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_dash_skips_an_optional_field() {
        assert_eq!(optional_text(" - "), None);
        assert_eq!(optional_text(""), None);
        assert_eq!(optional_text(" 上海 "), Some("上海".into()));
    }
}
