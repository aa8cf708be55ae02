//! Multi-step conversations, persisted as JSON in the `dialogues` table so that a restart in
//! the middle of one loses nothing.

use serde::{Deserialize, Serialize};

use crate::domain::cadence::Action;
use crate::domain::complaint::{Intake, Method};
use crate::domain::customer::Tier;
use crate::storage::complaints::{Attachment, ComplaintForm};

/// Where a chat is in a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum State {
    /// `/newcustomer`, collecting the card step by step.
    NewCustomer(NewCustomerDraft),
    /// A reference matched several customers: waiting for a button press.
    PickCustomer { purpose: Purpose, candidates: Vec<i64> },
    /// The complaint record form, filled by a customer or by staff for one.
    ComplaintForm(FormDraft),
    /// A workflow step on a complaint waits for a text from this person.
    ComplaintInput { number: String, purpose: InputPurpose },
}

/// The record form's steps, in order (`Intake` only when staff record a complaint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormStep {
    Intake,
    Company,
    Address,
    Contact,
    Phone,
    Description,
    Request,
    Attachments,
    Confirm,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormDraft {
    pub step: FormStep,
    pub intake: Intake,
    pub form: ComplaintForm,
    pub attachments: Vec<Attachment>,
}

impl FormDraft {
    pub fn for_customer() -> Self {
        Self {
            step: FormStep::Company,
            intake: Intake::Telegram,
            form: ComplaintForm::default(),
            attachments: Vec::new(),
        }
    }

    pub fn for_staff() -> Self {
        Self { step: FormStep::Intake, intake: Intake::Phone, form: ComplaintForm::default(), attachments: Vec::new() }
    }
}

/// What text a complaint step waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InputPurpose {
    /// Why it is not the company's fault (told to the customer).
    Explanation,
    Findings,
    Proposal {
        findings: String,
    },
    SendBackReason,
    Amount {
        method: Method,
    },
    Message {
        method: Method,
        amount_cents: i64,
    },
    /// Why the customer is not satisfied (from the customer, or recorded by staff).
    RefusalReason,
    RevisitComment {
        rating: u8,
    },
}

/// What the picked customer is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Purpose {
    Log { action: Action, notes: String },
    Card,
}

/// The steps of `/newcustomer`, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Name,
    Tier,
    Region,
    Phone,
    Address,
    Contact,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCustomerDraft {
    pub step: Step,
    pub name: Option<String>,
    pub tier: Option<Tier>,
    pub region: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
}

impl NewCustomerDraft {
    pub fn start() -> Self {
        Self { step: Step::Name, name: None, tier: None, region: None, phone: None, address: None }
    }
}

impl State {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("dialogue state always serialises")
    }

    /// `None` for state written by an older version that no longer parses: the person
    /// simply starts over instead of being stuck.
    pub fn from_json(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_round_trips_through_json() {
        let states = [
            State::NewCustomer(NewCustomerDraft {
                step: Step::Phone,
                name: Some("华东机械".into()),
                tier: Some(Tier::A),
                region: Some("华东".into()),
                phone: None,
                address: None,
            }),
            State::PickCustomer {
                purpose: Purpose::Log { action: Action::Visit, notes: "参观".into() },
                candidates: vec![1, 2],
            },
            State::PickCustomer { purpose: Purpose::Card, candidates: vec![3] },
            State::ComplaintForm(FormDraft {
                step: FormStep::Attachments,
                intake: Intake::Telegram,
                form: ComplaintForm { customer_name: "华东机械".into(), ..ComplaintForm::default() },
                attachments: vec![Attachment { kind: "photo".into(), file_id: "AgAD".into(), file_name: None }],
            }),
            State::ComplaintInput {
                number: "TS-20261125-0001".into(),
                purpose: InputPurpose::Message { method: Method::Discount, amount_cents: 500 },
            },
        ];
        for state in states {
            assert_eq!(State::from_json(&state.to_json()), Some(state));
        }
        assert_eq!(State::from_json("{\"kind\":\"gone\"}"), None);
    }
}
