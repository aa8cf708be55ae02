//! Text in, typed command out: the pure parser every staff message goes through.
//!
//! Raw strings end here. English command names are what Telegram's menu shows; Chinese
//! aliases (`/电话`, `/拜访`, …) are accepted as well because reps type them on the road.

/// A staff command with its arguments parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Start(Option<String>),
    Help,
    Cancel,
    Customers,
    Customer(String),
    NewCustomer,
    Log {
        action: crate::domain::cadence::Action,
        customer: String,
        notes: String,
    },
    Due,
    /// Customers: start the complaint form.
    Complain,
    /// Customers: where a complaint of mine stands.
    Status(String),
    /// Customers: my complaints.
    MyComplaints,
    /// Staff: record a complaint that came by phone, e-mail or in person.
    NewComplaint,
    /// Staff: open complaints I can act on.
    Complaints,
    /// Staff: one complaint's card, history and next actions.
    Complaint(String),
    /// Staff: link a complaint to an archive customer.
    Link {
        complaint: String,
        customer: String,
    },
    /// Staff: the duty roster.
    Duty(DutyCommand),
    /// Staff: statistics for a period.
    Report {
        period: String,
    },
    /// Staff: record a revisit call.
    Revisit {
        complaint: String,
        rating: u8,
        comment: String,
    },
    /// Staff: new information about a customer, for the archive keepers.
    Info {
        customer: String,
        text: String,
    },
    /// A rep proposes another tier.
    Tier {
        customer: String,
        tier: crate::domain::customer::Tier,
        reason: String,
    },
    /// Open archive tasks.
    Tasks,
    /// Close an archive task (with field assignments or a note).
    Done {
        task: i64,
        text: String,
    },
    /// Record a credit rating investigated today.
    Credit {
        customer: String,
        rating: String,
    },
    /// Set a contact's birthday (solar or lunar).
    Birthday {
        customer: String,
        contact: String,
        birthday: String,
    },
    /// A one-time code with which a contact joins the bot for greetings.
    ContactCode {
        customer: String,
        contact: String,
    },
    /// Ask the service manager for today's access to a customer.
    Request {
        customer: String,
        reason: String,
    },
    /// Who read a customer's data (managers and above).
    Audit(String),
    /// A prospect made a deal.
    Deal(String),
    /// Export the customers one may read (`full`: with A-tier and confidential data, after two
    /// approvals).
    Export {
        full: bool,
    },
    /// Move a rep's customers to another rep (`leave` deactivates the first afterwards).
    Handover {
        from: i64,
        to: i64,
        customers: Option<Vec<String>>,
        leave: bool,
    },
}

/// `/duty`, `/duty on [hours]`, `/duty off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DutyCommand {
    Show,
    On { hours: u32 },
    Off,
}

/// What was wrong with a command; each maps to a reply template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// `/something` we do not know.
    Unknown(String),
    /// A known command with missing or malformed arguments; `usage` names the command whose
    /// usage line and example to show.
    Usage { command: &'static str },
}

/// Telegram's own limit for a message; longer input cannot come from a real client.
pub const MAX_MESSAGE_CHARS: usize = 4096;

/// Parse a message. `None` when the text is not a command (plain dialogue input).
pub fn parse(text: &str, bot_username: Option<&str>) -> Option<Result<Command, ParseError>> {
    let text = text.trim_start();
    let rest = text.strip_prefix('/')?;
    let (head, args) = match rest.find(char::is_whitespace) {
        Some(i) => (&rest[..i], rest[i..].trim()),
        None => (rest, ""),
    };
    // `/call@guanxi_bot` in group chats: accept our own name, refuse another bot's.
    let name = match head.split_once('@') {
        Some((name, target)) => match bot_username {
            Some(me) if !target.eq_ignore_ascii_case(me) => return None,
            _ => name,
        },
        None => head,
    };
    Some(parse_command(&name.to_lowercase(), args))
}

fn parse_command(name: &str, args: &str) -> Result<Command, ParseError> {
    use crate::domain::cadence::Action;
    let no_args = |cmd: Command| Ok(cmd);
    match name {
        "start" => Ok(Command::Start((!args.is_empty()).then(|| args.to_owned()))),
        "help" | "帮助" => no_args(Command::Help),
        "cancel" | "取消" => no_args(Command::Cancel),
        "customers" | "客户列表" | "我的客户" => no_args(Command::Customers),
        "customer" | "客户" => {
            if args.is_empty() {
                Err(ParseError::Usage { command: "customer" })
            } else {
                Ok(Command::Customer(unquote(args).to_owned()))
            }
        }
        "newcustomer" | "新客户" => no_args(Command::NewCustomer),
        "call" | "电话" => log(Action::Call, "call", args),
        "visit" | "拜访" => log(Action::Visit, "visit", args),
        "due" | "待办" => no_args(Command::Due),
        "complain" | "投诉" => no_args(Command::Complain),
        "status" | "查询" => one_arg(args, "status").map(Command::Status),
        "mycomplaints" | "我的投诉" => no_args(Command::MyComplaints),
        "newcomplaint" | "登记投诉" => no_args(Command::NewComplaint),
        "complaints" | "投诉列表" => no_args(Command::Complaints),
        "complaint" | "投诉单" => one_arg(args, "complaint").map(Command::Complaint),
        "link" | "关联" => match split_reference(args) {
            Some((complaint, customer)) if !customer.is_empty() => {
                Ok(Command::Link { complaint: complaint.to_owned(), customer: unquote(customer).to_owned() })
            }
            _ => Err(ParseError::Usage { command: "link" }),
        },
        "duty" | "值班" => match args.split_whitespace().collect::<Vec<_>>().as_slice() {
            [] => Ok(Command::Duty(DutyCommand::Show)),
            ["on" | "上班"] => Ok(Command::Duty(DutyCommand::On { hours: 12 })),
            ["on" | "上班", hours] => match hours.parse::<u32>() {
                Ok(hours @ 1..=72) => Ok(Command::Duty(DutyCommand::On { hours })),
                _ => Err(ParseError::Usage { command: "duty" }),
            },
            ["off" | "下班"] => Ok(Command::Duty(DutyCommand::Off)),
            _ => Err(ParseError::Usage { command: "duty" }),
        },
        "report" | "报表" => match args.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["complaints" | "投诉", period] => Ok(Command::Report { period: (*period).to_owned() }),
            _ => Err(ParseError::Usage { command: "report" }),
        },
        "revisit" | "回访" => {
            let mut parts = args.splitn(3, char::is_whitespace);
            match (parts.next(), parts.next().map(str::parse::<u8>), parts.next()) {
                (Some(complaint), Some(Ok(rating @ 1..=5)), comment) if !complaint.is_empty() => Ok(Command::Revisit {
                    complaint: complaint.to_owned(),
                    rating,
                    comment: comment.unwrap_or("").trim().to_owned(),
                }),
                _ => Err(ParseError::Usage { command: "revisit" }),
            }
        }
        "info" | "新信息" => match split_reference(args) {
            Some((customer, text)) if !text.is_empty() => {
                Ok(Command::Info { customer: customer.to_owned(), text: text.to_owned() })
            }
            _ => Err(ParseError::Usage { command: "info" }),
        },
        "tier" | "调级" => {
            let usage = ParseError::Usage { command: "tier" };
            let (customer, rest) = split_reference(args).ok_or(usage.clone())?;
            let (tier, reason) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let tier = tier.parse().map_err(|()| usage)?;
            Ok(Command::Tier { customer: customer.to_owned(), tier, reason: reason.trim().to_owned() })
        }
        "tasks" | "任务" => no_args(Command::Tasks),
        "done" | "完成" => {
            let (task, text) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
            match task.trim_start_matches('#').parse::<i64>() {
                Ok(task) if task > 0 => Ok(Command::Done { task, text: text.trim().to_owned() }),
                _ => Err(ParseError::Usage { command: "done" }),
            }
        }
        "credit" | "信用" => match split_reference(args) {
            Some((customer, rating)) if !rating.is_empty() && rating.chars().count() <= 50 => {
                Ok(Command::Credit { customer: customer.to_owned(), rating: rating.to_owned() })
            }
            _ => Err(ParseError::Usage { command: "credit" }),
        },
        "birthday" | "生日" => {
            let usage = ParseError::Usage { command: "birthday" };
            let (customer, rest) = split_reference(args).ok_or(usage.clone())?;
            let (contact, birthday) = split_reference(rest).ok_or(usage.clone())?;
            if birthday.is_empty() {
                return Err(usage);
            }
            Ok(Command::Birthday {
                customer: customer.to_owned(),
                contact: contact.to_owned(),
                birthday: birthday.to_owned(),
            })
        }
        "contactcode" | "联系人码" => match split_reference(args) {
            Some((customer, contact)) if !contact.is_empty() => {
                Ok(Command::ContactCode { customer: customer.to_owned(), contact: unquote(contact).to_owned() })
            }
            _ => Err(ParseError::Usage { command: "contactcode" }),
        },
        "request" | "申请" => match split_reference(args) {
            Some((customer, reason)) if !reason.is_empty() => {
                Ok(Command::Request { customer: customer.to_owned(), reason: reason.to_owned() })
            }
            _ => Err(ParseError::Usage { command: "request" }),
        },
        "audit" | "查阅记录" => one_arg(args, "audit").map(Command::Audit),
        "deal" | "成交" => one_arg(args, "deal").map(Command::Deal),
        "export" | "导出" => match args {
            "" => Ok(Command::Export { full: false }),
            "full" | "全部" => Ok(Command::Export { full: true }),
            _ => Err(ParseError::Usage { command: "export" }),
        },
        "handover" | "交接" => {
            let usage = ParseError::Usage { command: "handover" };
            let words: Vec<&str> = args.split_whitespace().collect();
            let (from, to, rest) = match words.as_slice() {
                [from, to, rest @ ..] => (
                    from.parse::<i64>().map_err(|_| usage.clone())?,
                    to.parse::<i64>().map_err(|_| usage.clone())?,
                    rest,
                ),
                _ => return Err(usage),
            };
            let mut customers = None;
            let mut leave = false;
            for word in rest {
                match *word {
                    "all" | "全部" => customers = None,
                    "leave" | "离职" => leave = true,
                    list => {
                        customers = Some(list.split([',', '，']).filter(|s| !s.is_empty()).map(str::to_owned).collect())
                    }
                }
            }
            Ok(Command::Handover { from, to, customers, leave })
        }
        other => Err(ParseError::Unknown(other.to_owned())),
    }
}

fn one_arg(args: &str, command: &'static str) -> Result<String, ParseError> {
    if args.is_empty() { Err(ParseError::Usage { command }) } else { Ok(unquote(args).to_owned()) }
}

fn log(action: crate::domain::cadence::Action, command: &'static str, args: &str) -> Result<Command, ParseError> {
    let (customer, notes) = split_reference(args).ok_or(ParseError::Usage { command })?;
    if notes.is_empty() {
        return Err(ParseError::Usage { command });
    }
    Ok(Command::Log { action, customer: customer.to_owned(), notes: notes.to_owned() })
}

/// Split `reference rest…`; the reference may be quoted to contain spaces:
/// `"Acme Trading" met the buyer`. Curly and corner quotes count as quotes too.
fn split_reference(args: &str) -> Option<(&str, &str)> {
    let args = args.trim();
    if args.is_empty() {
        return None;
    }
    for (open, close) in [('"', '"'), ('“', '”'), ('「', '」')] {
        if let Some(inner) = args.strip_prefix(open) {
            let end = inner.find(close)?;
            let reference = inner[..end].trim();
            let rest = inner[end + close.len_utf8()..].trim();
            return (!reference.is_empty()).then_some((reference, rest));
        }
    }
    Some(match args.find(char::is_whitespace) {
        Some(i) => (&args[..i], args[i..].trim()),
        None => (args, ""),
    })
}

fn unquote(s: &str) -> &str {
    split_reference(s).map(|(r, rest)| if rest.is_empty() { r } else { s }).unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::cadence::Action;
    use proptest::prelude::*;

    fn ok(text: &str) -> Command {
        parse(text, Some("guanxi_bot")).unwrap().unwrap()
    }

    fn err(text: &str) -> ParseError {
        parse(text, Some("guanxi_bot")).unwrap().unwrap_err()
    }

    #[test]
    fn commands_and_aliases() {
        let table = [
            ("/help", Command::Help),
            ("/帮助", Command::Help),
            ("/HELP", Command::Help),
            ("/help@guanxi_bot", Command::Help),
            ("/customers", Command::Customers),
            ("/客户列表", Command::Customers),
            ("/due", Command::Due),
            ("/待办", Command::Due),
            ("/newcustomer", Command::NewCustomer),
            ("/新客户", Command::NewCustomer),
            ("/cancel", Command::Cancel),
            ("/start", Command::Start(None)),
            ("/start ABCDEFGHJK", Command::Start(Some("ABCDEFGHJK".into()))),
            ("/customer KH-000001", Command::Customer("KH-000001".into())),
            ("/customer \"Acme Trading\"", Command::Customer("Acme Trading".into())),
            ("/客户 华东机械", Command::Customer("华东机械".into())),
        ];
        for (text, expected) in table {
            assert_eq!(ok(text), expected, "{text}");
        }
    }

    #[test]
    fn logging_takes_a_reference_and_notes() {
        assert_eq!(
            ok("/call 华东机械 谈了明年的订单"),
            Command::Log {
                action: Action::Call, customer: "华东机械".into(), notes: "谈了明年的订单".into()
            }
        );
        assert_eq!(
            ok("/visit \"Acme Trading\" met the buyer"),
            Command::Log { action: Action::Visit, customer: "Acme Trading".into(), notes: "met the buyer".into() }
        );
        assert_eq!(
            ok("/拜访 「上海 精密」 参观工厂"),
            Command::Log { action: Action::Visit, customer: "上海 精密".into(), notes: "参观工厂".into() }
        );
    }

    #[test]
    fn malformed_arguments_name_the_command() {
        assert_eq!(err("/call"), ParseError::Usage { command: "call" });
        assert_eq!(err("/call 华东机械"), ParseError::Usage { command: "call" });
        assert_eq!(err("/visit \"unclosed notes"), ParseError::Usage { command: "visit" });
        assert_eq!(err("/customer"), ParseError::Usage { command: "customer" });
        assert_eq!(err("/frobnicate now"), ParseError::Unknown("frobnicate".into()));
    }

    #[test]
    fn complaint_commands() {
        let table = [
            ("/complain", Command::Complain),
            ("/投诉", Command::Complain),
            ("/status TS-20261125-0001", Command::Status("TS-20261125-0001".into())),
            ("/mycomplaints", Command::MyComplaints),
            ("/newcomplaint", Command::NewComplaint),
            ("/complaints", Command::Complaints),
            ("/complaint TS-20261125-0001", Command::Complaint("TS-20261125-0001".into())),
            (
                "/link TS-20261125-0001 \"华东 机械\"",
                Command::Link { complaint: "TS-20261125-0001".into(), customer: "华东 机械".into() },
            ),
            ("/duty", Command::Duty(DutyCommand::Show)),
            ("/duty on", Command::Duty(DutyCommand::On { hours: 12 })),
            ("/duty on 8", Command::Duty(DutyCommand::On { hours: 8 })),
            ("/duty off", Command::Duty(DutyCommand::Off)),
            ("/report complaints 2026-Q4", Command::Report { period: "2026-Q4".into() }),
            (
                "/revisit TS-20261125-0001 4 服务很好",
                Command::Revisit { complaint: "TS-20261125-0001".into(), rating: 4, comment: "服务很好".into() },
            ),
            (
                "/revisit TS-20261125-0001 5",
                Command::Revisit { complaint: "TS-20261125-0001".into(), rating: 5, comment: String::new() },
            ),
        ];
        for (text, expected) in table {
            assert_eq!(ok(text), expected, "{text}");
        }
        for (text, command) in [
            ("/status", "status"),
            ("/duty on 100", "duty"),
            ("/duty maybe", "duty"),
            ("/report sales 2026", "report"),
            ("/revisit TS-20261125-0001 6", "revisit"),
            ("/revisit TS-20261125-0001", "revisit"),
            ("/link TS-20261125-0001", "link"),
        ] {
            assert_eq!(err(text), ParseError::Usage { command }, "{text}");
        }
    }

    #[test]
    fn archive_commands() {
        use crate::domain::customer::Tier;
        let table = [
            (
                "/info KH-000001 客户下月扩产，新增电话 021-1234",
                Command::Info {
                    customer: "KH-000001".into(), text: "客户下月扩产，新增电话 021-1234".into()
                },
            ),
            (
                "/tier 华东机械 A 年采购额超过 500 万",
                Command::Tier {
                    customer: "华东机械".into(), tier: Tier::A, reason: "年采购额超过 500 万".into()
                },
            ),
            ("/tier KH-000001 b", Command::Tier { customer: "KH-000001".into(), tier: Tier::B, reason: String::new() }),
            ("/tasks", Command::Tasks),
            ("/done #12 电话=021-1234", Command::Done { task: 12, text: "电话=021-1234".into() }),
            ("/done 12", Command::Done { task: 12, text: String::new() }),
            ("/credit KH-000001 AA", Command::Credit { customer: "KH-000001".into(), rating: "AA".into() }),
            (
                "/birthday KH-000001 王总 农历 8-15",
                Command::Birthday {
                    customer: "KH-000001".into(),
                    contact: "王总".into(),
                    birthday: "农历 8-15".into(),
                },
            ),
            (
                "/birthday \"Acme Trading\" \"John Smith\" 1980-02-29",
                Command::Birthday {
                    customer: "Acme Trading".into(),
                    contact: "John Smith".into(),
                    birthday: "1980-02-29".into(),
                },
            ),
            (
                "/contactcode KH-000001 王总",
                Command::ContactCode { customer: "KH-000001".into(), contact: "王总".into() },
            ),
        ];
        for (text, expected) in table {
            assert_eq!(ok(text), expected, "{text}");
        }
        for (text, command) in [
            ("/info KH-000001", "info"),
            ("/tier KH-000001 D", "tier"),
            ("/done abc", "done"),
            ("/done", "done"),
            ("/credit KH-000001", "credit"),
            ("/birthday KH-000001 王总", "birthday"),
            ("/contactcode KH-000001", "contactcode"),
        ] {
            assert_eq!(err(text), ParseError::Usage { command }, "{text}");
        }
    }

    #[test]
    fn access_commands() {
        assert_eq!(
            ok("/request KH-000001 跟进华东展会"),
            Command::Request { customer: "KH-000001".into(), reason: "跟进华东展会".into() }
        );
        assert_eq!(ok("/audit KH-000001"), Command::Audit("KH-000001".into()));
        assert_eq!(ok("/export"), Command::Export { full: false });
        assert_eq!(ok("/export full"), Command::Export { full: true });
        assert_eq!(err("/export everything"), ParseError::Usage { command: "export" });
        assert_eq!(
            ok("/handover 9001 9004"),
            Command::Handover { from: 9001, to: 9004, customers: None, leave: false }
        );
        assert_eq!(
            ok("/handover 9001 9004 KH-000001,KH-000003 leave"),
            Command::Handover {
                from: 9001,
                to: 9004,
                customers: Some(vec!["KH-000001".into(), "KH-000003".into()]),
                leave: true
            }
        );
        for (text, command) in [
            ("/request KH-000001", "request"),
            ("/audit", "audit"),
            ("/handover 9001", "handover"),
            ("/handover a b", "handover"),
        ] {
            assert_eq!(err(text), ParseError::Usage { command }, "{text}");
        }
    }

    #[test]
    fn plain_text_and_other_bots_are_not_commands() {
        assert!(parse("hello", None).is_none());
        assert!(parse("/help@other_bot", Some("guanxi_bot")).is_none());
    }

    proptest! {
        #[test]
        fn any_text_parses_without_panicking(text in "\\PC{0,300}") {
            let _ = parse(&text, Some("guanxi_bot"));
            let _ = parse(&format!("/call {text}"), None);
        }

        #[test]
        fn notes_are_kept_verbatim(notes in "[^\\s][\\PC&&[^\\s]]{0,50}( [\\PC&&[^\\s]]{1,10}){0,5}") {
            match parse(&format!("/call KH-000001 {notes}"), None) {
                Some(Ok(Command::Log { notes: parsed, .. })) => prop_assert_eq!(parsed, notes.trim()),
                other => prop_assert!(false, "{:?}", other),
            }
        }
    }
}
