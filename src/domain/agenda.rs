//! What a rep has to do: due today, overdue, coming up.

use chrono::NaiveDate;

use super::cadence::Action;
use super::ids::{ArchiveNo, CustomerId, StaffId};

/// One owed touch of one customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueItem {
    pub customer: CustomerId,
    pub archive_no: ArchiveNo,
    pub customer_name: String,
    pub owner: StaffId,
    pub action: Action,
    pub due_on: NaiveDate,
}

impl DueItem {
    /// Whole days past the due date (0 when due today or later).
    pub fn days_overdue(&self, today: NaiveDate) -> i64 {
        (today - self.due_on).num_days().max(0)
    }

    /// Identifies this item across ticks: a new touch moves the due date and so makes a new item.
    pub fn key(&self) -> String {
        format!("{}:{}:{}", self.action.as_str(), self.customer.0, self.due_on)
    }
}

/// A rep's agenda for one day, each list ordered by due date then customer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Agenda {
    pub overdue: Vec<DueItem>,
    pub due_today: Vec<DueItem>,
    pub upcoming: Vec<DueItem>,
}

impl Agenda {
    /// Sort `items` for `today`; items due more than `horizon_days` ahead are left out.
    pub fn build(items: impl IntoIterator<Item = DueItem>, today: NaiveDate, horizon_days: u32) -> Self {
        let horizon = today + chrono::Duration::days(horizon_days.into());
        let mut agenda = Self::default();
        for item in items {
            match item.due_on {
                d if d < today => agenda.overdue.push(item),
                d if d == today => agenda.due_today.push(item),
                d if d <= horizon => agenda.upcoming.push(item),
                _ => {}
            }
        }
        for list in [&mut agenda.overdue, &mut agenda.due_today, &mut agenda.upcoming] {
            list.sort_by(|a, b| (a.due_on, &a.archive_no, a.action).cmp(&(b.due_on, &b.archive_no, b.action)));
        }
        agenda
    }

    pub fn is_empty(&self) -> bool {
        self.overdue.is_empty() && self.due_today.is_empty() && self.upcoming.is_empty()
    }

    /// Only what needs doing now: overdue and due today.
    pub fn is_actionable(&self) -> bool {
        !(self.overdue.is_empty() && self.due_today.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(customer: i64, action: Action, due: &str) -> DueItem {
        DueItem {
            customer: CustomerId(customer),
            archive_no: ArchiveNo::from_number(customer),
            customer_name: format!("客户{customer}"),
            owner: StaffId(1),
            action,
            due_on: due.parse().unwrap(),
        }
    }

    #[test]
    fn items_are_sorted_into_overdue_today_and_upcoming() {
        let today = "2026-11-25".parse().unwrap();
        let agenda = Agenda::build(
            [
                item(1, Action::Call, "2026-11-20"),
                item(2, Action::Visit, "2026-11-25"),
                item(3, Action::Call, "2026-12-02"),
                item(4, Action::Call, "2026-12-03"),
                item(5, Action::Call, "2026-11-24"),
            ],
            today,
            7,
        );
        let ids = |v: &[DueItem]| v.iter().map(|i| i.customer.0).collect::<Vec<_>>();
        assert_eq!(ids(&agenda.overdue), [1, 5]);
        assert_eq!(ids(&agenda.due_today), [2]);
        assert_eq!(ids(&agenda.upcoming), [3]);
        assert_eq!(agenda.overdue[0].days_overdue(today), 5);
    }
}
