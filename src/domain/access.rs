//! Who may read or edit which customer data (客户数据管理制度, 客户档案管理方案).
//!
//! A decision is a pure function of the person's role, whether they own the customer, whether
//! they hold an approved access grant for it today, the customer's tier, and the
//! confidentiality level of the field. Defaults:
//! - public fields (name, archive number, tier, region, industry): every member of staff who
//!   may see the customer at all;
//! - internal (operational) fields: the owning rep reads and edits them; customer service
//!   (the archive keepers) read and edit them for every customer; managers and above too;
//! - confidential fields (financials, credit, key people's personal details): managers and
//!   above; for B and C tier also the owning rep and customer service, who keep them current;
//!   A-tier confidential data is for managers and above only, as the procedure demands;
//! - a rep sees other reps' customers only with an approved request (read, not confidential).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::customer::Tier;
use super::staff::Role;

/// How confidential a field is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Public,
    Internal,
    Confidential,
}

impl Level {
    pub const ALL: [Level; 3] = [Self::Public, Self::Internal, Self::Confidential];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Internal => "internal",
            Self::Confidential => "confidential",
        }
    }
}

impl FromStr for Level {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|l| l.as_str() == s).ok_or(())
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a person may do with a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    Deny,
    Read,
    Edit,
}

/// The person asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject {
    pub role: Role,
    /// They own (are the responsible rep of) the customer.
    pub owner: bool,
    /// They hold an approved access request for the customer, still valid.
    pub granted: bool,
}

/// The decision for one field level of one customer.
pub fn access(subject: Subject, tier: Tier, level: Level) -> Access {
    use Access::*;
    match subject.role {
        Role::Manager | Role::Director | Role::Admin => Edit,
        Role::Service => match (level, tier) {
            (Level::Confidential, Tier::A) => Deny,
            _ => Edit,
        },
        Role::Rep if subject.owner => match (level, tier) {
            (Level::Confidential, Tier::A) => Deny,
            _ => Edit,
        },
        Role::Rep if subject.granted => match level {
            Level::Public | Level::Internal => Read,
            Level::Confidential => Deny,
        },
        Role::Rep => Deny,
    }
}

/// The levels a person may read of a customer, lowest first (empty: the customer is hidden).
pub fn readable(subject: Subject, tier: Tier) -> Vec<Level> {
    Level::ALL.into_iter().filter(|l| access(subject, tier, *l) >= Access::Read).collect()
}

/// Which level each card field has; configurable under `[access.fields]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FieldLevels(pub BTreeMap<String, Level>);

impl Default for FieldLevels {
    fn default() -> Self {
        use Level::*;
        let pairs = [
            ("name", Public),
            ("archive_no", Public),
            ("tier", Public),
            ("region", Public),
            ("industry", Public),
            ("owner", Public),
            ("address", Internal),
            ("postcode", Internal),
            ("phone", Internal),
            ("fax", Internal),
            ("email", Internal),
            ("website", Internal),
            ("nature", Internal),
            ("standing", Internal),
            ("business", Internal),
            ("notes", Internal),
            ("contacts", Internal),
            ("interactions", Internal),
            ("due", Internal),
            ("capital", Confidential),
            ("shareholders", Confidential),
            ("bank", Confidential),
            ("account", Confidential),
            ("employees", Confidential),
            ("credit", Confidential),
            ("contact_personal", Confidential),
        ];
        Self(pairs.into_iter().map(|(k, l)| (k.to_owned(), l)).collect())
    }
}

impl FieldLevels {
    /// A field's level; a field nobody classified is treated as confidential.
    pub fn of(&self, field: &str) -> Level {
        self.0.get(field).copied().unwrap_or(Level::Confidential)
    }

    /// The defaults with the configured fields replaced.
    pub fn with_overrides(overrides: BTreeMap<String, Level>) -> Self {
        let mut levels = Self::default();
        levels.0.extend(overrides);
        levels
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Access::*;

    fn who(role: Role, owner: bool, granted: bool) -> Subject {
        Subject { role, owner, granted }
    }

    #[test]
    fn the_table() {
        let rows: &[(Subject, Tier, [Access; 3])] = &[
            // role, owner, granted                tier      public internal confidential
            (who(Role::Rep, true, false), Tier::A, [Edit, Edit, Deny]),
            (who(Role::Rep, true, false), Tier::B, [Edit, Edit, Edit]),
            (who(Role::Rep, false, false), Tier::A, [Deny, Deny, Deny]),
            (who(Role::Rep, false, false), Tier::C, [Deny, Deny, Deny]),
            (who(Role::Rep, false, true), Tier::A, [Read, Read, Deny]),
            (who(Role::Rep, false, true), Tier::C, [Read, Read, Deny]),
            (who(Role::Service, false, false), Tier::A, [Edit, Edit, Deny]),
            (who(Role::Service, false, false), Tier::B, [Edit, Edit, Edit]),
            (who(Role::Manager, false, false), Tier::A, [Edit, Edit, Edit]),
            (who(Role::Director, false, false), Tier::A, [Edit, Edit, Edit]),
            (who(Role::Admin, false, false), Tier::A, [Edit, Edit, Edit]),
        ];
        for (subject, tier, expected) in rows {
            let got = Level::ALL.map(|l| access(*subject, *tier, l));
            assert_eq!(got, *expected, "{subject:?} on tier {tier}");
        }
    }

    #[test]
    fn a_grant_never_opens_a_tier_confidential_data_to_a_rep() {
        for owner in [false, true] {
            assert_eq!(access(who(Role::Rep, owner, true), Tier::A, Level::Confidential), Deny);
        }
        assert_eq!(readable(who(Role::Rep, false, false), Tier::B), []);
        assert_eq!(readable(who(Role::Rep, true, false), Tier::A), [Level::Public, Level::Internal]);
    }

    #[test]
    fn field_levels_default_and_configure() {
        let levels = FieldLevels::default();
        assert_eq!(levels.of("phone"), Level::Internal);
        assert_eq!(levels.of("credit"), Level::Confidential);
        assert_eq!(levels.of("something new"), Level::Confidential);
        let custom = FieldLevels::with_overrides([("phone".to_owned(), Level::Confidential)].into());
        assert_eq!(custom.of("phone"), Level::Confidential);
        assert_eq!(custom.of("region"), Level::Public);
    }
}
