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
    Log { action: crate::domain::cadence::Action, customer: String, notes: String },
    Due,
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
        other => Err(ParseError::Unknown(other.to_owned())),
    }
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
