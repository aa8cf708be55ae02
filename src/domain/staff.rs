//! Staff roles.

use std::fmt;
use std::str::FromStr;

/// What a member of staff does; decides which commands and data they reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Sales representative (销售代表): owns customers, logs calls and visits.
    Rep,
    /// Customer-service staff (客户服务部).
    Service,
    /// A manager: receives first-level escalations for their reps.
    Manager,
    /// A director: receives second-level escalations.
    Director,
    /// Administers staff and configuration.
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [Self::Rep, Self::Service, Self::Manager, Self::Director, Self::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rep => "rep",
            Self::Service => "service",
            Self::Manager => "manager",
            Self::Director => "director",
            Self::Admin => "admin",
        }
    }
}

impl FromStr for Role {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|r| r.as_str().eq_ignore_ascii_case(s.trim())).ok_or(())
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert_eq!("Manager".parse::<Role>(), Ok(Role::Manager));
        assert!("boss".parse::<Role>().is_err());
    }
}
