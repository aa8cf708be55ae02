//! Who learns, and when, that a touch has slipped.
//!
//! An item overdue beyond its grace goes to the rep's manager; further still, also to the
//! manager's manager (the director). Each item reaches each level once.

use serde::{Deserialize, Serialize};

use super::cadence::Action;

/// Escalation level: how far up the chain an overdue item has gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    Manager = 1,
    Director = 2,
}

impl Level {
    pub const ALL: [Level; 2] = [Self::Manager, Self::Director];

    pub fn number(self) -> i64 {
        self as i64
    }

    /// How many steps up the management chain the recipient sits.
    pub fn steps_up(self) -> usize {
        self as usize
    }
}

/// Days overdue after which each level is reached, per action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ladder {
    pub manager_after_days: u32,
    pub director_after_days: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationPolicy {
    pub call: Ladder,
    pub visit: Ladder,
}

impl Default for EscalationPolicy {
    fn default() -> Self {
        Self {
            call: Ladder { manager_after_days: 2, director_after_days: 7 },
            visit: Ladder { manager_after_days: 7, director_after_days: 30 },
        }
    }
}

impl EscalationPolicy {
    pub fn ladder(&self, action: Action) -> Ladder {
        match action {
            Action::Call => self.call,
            Action::Visit => self.visit,
        }
    }

    /// Every level an item `days_overdue` past due has reached ("beyond the grace" means
    /// strictly more days than the grace).
    pub fn levels_reached(&self, action: Action, days_overdue: i64) -> Vec<Level> {
        let ladder = self.ladder(action);
        let mut levels = Vec::new();
        if days_overdue > i64::from(ladder.manager_after_days) {
            levels.push(Level::Manager);
        }
        if days_overdue > i64::from(ladder.director_after_days) {
            levels.push(Level::Director);
        }
        levels
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_escalate_after_two_and_seven_days() {
        let p = EscalationPolicy::default();
        assert!(p.levels_reached(Action::Call, 2).is_empty());
        assert_eq!(p.levels_reached(Action::Call, 3), [Level::Manager]);
        assert_eq!(p.levels_reached(Action::Call, 7), [Level::Manager]);
        assert_eq!(p.levels_reached(Action::Call, 8), [Level::Manager, Level::Director]);
    }

    #[test]
    fn visits_escalate_after_seven_and_thirty_days() {
        let p = EscalationPolicy::default();
        assert!(p.levels_reached(Action::Visit, 7).is_empty());
        assert_eq!(p.levels_reached(Action::Visit, 8), [Level::Manager]);
        assert_eq!(p.levels_reached(Action::Visit, 31), [Level::Manager, Level::Director]);
    }
}
