//! Who is who for notifications: staff by id, the departments and their heads, with the
//! fallbacks that make sure every message has a recipient (administrators when a head or the
//! service manager is missing).

use std::collections::HashMap;

use crate::domain::ids::StaffId;
use crate::domain::staff::Role;
use crate::storage::departments::{self, Department, SERVICE};
use crate::storage::staff::{self as staff_store, Staff};

/// Everything a transaction needs to address people: staff by id and the departments.
pub(crate) struct Directory {
    pub(crate) staff: HashMap<StaffId, Staff>,
    pub(crate) departments: Vec<Department>,
}

impl Directory {
    pub(crate) async fn load(tx: &mut sqlx::AnyConnection) -> anyhow::Result<Self> {
        let staff = staff_store::list(tx).await?.into_iter().map(|s| (s.id, s)).collect();
        Ok(Self { staff, departments: departments::all(tx).await? })
    }

    pub(crate) fn active(&self, id: Option<StaffId>) -> Option<&Staff> {
        id.and_then(|id| self.staff.get(&id)).filter(|s| s.active)
    }

    pub(crate) fn department(&self, key: Option<&str>) -> Option<&Department> {
        key.and_then(|k| self.departments.iter().find(|d| d.key == k))
    }

    pub(crate) fn admins(&self) -> Vec<&Staff> {
        let mut admins: Vec<&Staff> = self.staff.values().filter(|s| s.active && s.role == Role::Admin).collect();
        admins.sort_by_key(|s| s.id);
        admins
    }

    /// The head of customer service; administrators when none is set.
    pub(crate) fn service_managers(&self) -> Vec<&Staff> {
        match self.active(self.department(Some(SERVICE)).and_then(|d| d.head)) {
            Some(head) => vec![head],
            None => self.admins(),
        }
    }

    /// The head of the complaint's department; the service manager(s) when none is set.
    pub(crate) fn department_heads(&self, department: Option<&str>) -> Vec<&Staff> {
        match self.active(self.department(department).and_then(|d| d.head)) {
            Some(head) => vec![head],
            None => self.service_managers(),
        }
    }

    pub(crate) fn all_service_staff(&self) -> Vec<&Staff> {
        let mut staff: Vec<&Staff> = self.staff.values().filter(|s| s.active && s.role == Role::Service).collect();
        staff.sort_by_key(|s| s.id);
        if staff.is_empty() { self.service_managers() } else { staff }
    }
}
