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

/// A card field a keeper may set by name (English or the card's Chinese label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardField {
    Name,
    Region,
    Address,
    Postcode,
    Phone,
    Fax,
    Email,
    Website,
    Industry,
    Nature,
    Standing,
    Business,
    Capital,
    Shareholders,
    Bank,
    Account,
    Notes,
}

impl CardField {
    const NAMES: [(CardField, &'static str, &'static str); 17] = [
        (Self::Name, "name", "名称"),
        (Self::Region, "region", "区域"),
        (Self::Address, "address", "地址"),
        (Self::Postcode, "postcode", "邮编"),
        (Self::Phone, "phone", "电话"),
        (Self::Fax, "fax", "传真"),
        (Self::Email, "email", "邮箱"),
        (Self::Website, "website", "网站"),
        (Self::Industry, "industry", "行业"),
        (Self::Nature, "nature", "公司性质"),
        (Self::Standing, "standing", "同业地位"),
        (Self::Business, "business", "主营业务"),
        (Self::Capital, "capital", "注册资金"),
        (Self::Shareholders, "shareholders", "主要股东"),
        (Self::Bank, "bank", "开户行"),
        (Self::Account, "account", "账号"),
        (Self::Notes, "notes", "备注"),
    ];

    pub fn key(self) -> &'static str {
        Self::NAMES.iter().find(|(f, _, _)| *f == self).map(|(_, k, _)| *k).unwrap_or("notes")
    }

    pub fn label_zh(self) -> &'static str {
        Self::NAMES.iter().find(|(f, _, _)| *f == self).map(|(_, _, z)| *z).unwrap_or("备注")
    }

    /// The field's current value on a card.
    pub fn get(self, name: &str, f: &CardFields) -> Option<String> {
        match self {
            Self::Name => Some(name.to_owned()),
            Self::Region => f.region.clone(),
            Self::Address => f.address.clone(),
            Self::Postcode => f.postcode.clone(),
            Self::Phone => f.phone.clone(),
            Self::Fax => f.fax.clone(),
            Self::Email => f.email.clone(),
            Self::Website => f.website.clone(),
            Self::Industry => f.industry.clone(),
            Self::Nature => f.nature.clone(),
            Self::Standing => f.industry_standing.clone(),
            Self::Business => f.main_business.clone(),
            Self::Capital => f.registered_capital.clone(),
            Self::Shareholders => f.main_shareholders.clone(),
            Self::Bank => f.bank.clone(),
            Self::Account => f.bank_account.clone(),
            Self::Notes => f.notes.clone(),
        }
    }

    /// Set this field on a card from text; returns the old value. Validates phone and e-mail.
    pub fn set(self, name: &mut String, f: &mut CardFields, value: &str) -> Result<Option<String>, FieldError> {
        let value = value.trim();
        let slot = match self {
            Self::Name => {
                let new = CustomerName::parse(value)?;
                return Ok(Some(std::mem::replace(name, new.as_str().to_owned())));
            }
            Self::Phone => {
                let new = optional_text(value).map(|p| Phone::parse(&p).map(|p| p.as_str().to_owned())).transpose()?;
                return Ok(std::mem::replace(&mut f.phone, new));
            }
            Self::Email => {
                let new =
                    optional_text(value).map(|e| EmailAddress::parse(&e).map(|e| e.as_str().to_owned())).transpose()?;
                return Ok(std::mem::replace(&mut f.email, new));
            }
            Self::Region => &mut f.region,
            Self::Address => &mut f.address,
            Self::Postcode => &mut f.postcode,
            Self::Fax => &mut f.fax,
            Self::Website => &mut f.website,
            Self::Industry => &mut f.industry,
            Self::Nature => &mut f.nature,
            Self::Standing => &mut f.industry_standing,
            Self::Business => &mut f.main_business,
            Self::Capital => &mut f.registered_capital,
            Self::Shareholders => &mut f.main_shareholders,
            Self::Bank => &mut f.bank,
            Self::Account => &mut f.bank_account,
            Self::Notes => &mut f.notes,
        };
        Ok(std::mem::replace(slot, optional_text(value)))
    }
}

impl FromStr for CardField {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        let s = s.trim();
        Self::NAMES.iter().find(|(_, en, zh)| en.eq_ignore_ascii_case(s) || *zh == s).map(|(f, _, _)| *f).ok_or(())
    }
}

/// Parse `电话=021-1234; 地址=上海市…` into field assignments; `None` when the text is not
/// made of assignments (then it is free text for the record).
pub fn parse_assignments(text: &str) -> Option<Vec<(CardField, String)>> {
    let parts: Vec<&str> = text.split([';', '；', '\n']).map(str::trim).filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        return None;
    }
    parts
        .into_iter()
        .map(|p| {
            let (field, value) = p.split_once(['=', '＝'])?;
            Some((field.parse().ok()?, value.trim().to_owned()))
        })
        .collect()
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
    fn keepers_set_fields_by_english_or_chinese_name() {
        let mut name = "旧名".to_owned();
        let mut f = CardFields::default();
        let changes = parse_assignments("电话=021-6888 1234；address=上海市浦东新区; 名称=新名").unwrap();
        for (field, value) in &changes {
            field.set(&mut name, &mut f, value).unwrap();
        }
        assert_eq!(
            (name.as_str(), f.phone.as_deref(), f.address.as_deref()),
            ("新名", Some("021-6888 1234"), Some("上海市浦东新区"))
        );
        assert_eq!(CardField::Phone.set(&mut name, &mut f, "not a phone"), Err(FieldError::InvalidPhone));
        assert_eq!(parse_assignments("客户说下月扩产"), None);
        assert_eq!(parse_assignments("颜色=红"), None, "unknown fields are not assignments");
        assert_eq!(CardField::Standing.key(), "standing");
    }

    #[test]
    fn a_dash_skips_an_optional_field() {
        assert_eq!(optional_text(" - "), None);
        assert_eq!(optional_text(""), None);
        assert_eq!(optional_text(" 上海 "), Some("上海".into()));
    }
}
