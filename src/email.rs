//! Sending e-mail: through an SMTP relay, or as `.eml` files in a folder when none is
//! configured (the embedded default, so escalations are never silently dropped).

use std::time::Duration;

use anyhow::Context;
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{MailTransport, SmtpSettings, SmtpTls};

/// lettre's own timeout covers connecting only; a whole send gets this much.
const SEND_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
}

/// Whether a failed send is worth retrying.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The message itself is wrong (bad address): retrying cannot help.
    #[error("{0}")]
    Permanent(String),
    /// The relay or the disk failed: try again later.
    #[error("{0}")]
    Transient(String),
}

#[derive(Debug, Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

impl Mailer {
    pub fn new(transport: &MailTransport, from: &str) -> anyhow::Result<Self> {
        let from: Mailbox = from.parse().context("MAIL_FROM is not a mailbox")?;
        let transport = match transport {
            MailTransport::Smtp(smtp) => Transport::Smtp(smtp_transport(smtp)?),
            MailTransport::Files(dir) => {
                std::fs::create_dir_all(dir).with_context(|| format!("creating mail folder {}", dir.display()))?;
                Transport::Files(AsyncFileTransport::<Tokio1Executor>::new(dir))
            }
        };
        Ok(Self { transport, from })
    }

    /// Send one plain-text message. `message_id` is derived from the outbox key so that a
    /// receiving system can recognise a duplicate even if one ever slipped through.
    pub async fn send(&self, to: &str, subject: &str, body: &str, message_id: &str) -> Result<(), MailError> {
        let to: Mailbox = to.parse().map_err(|e| MailError::Permanent(format!("bad recipient '{to}': {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(message_id.to_owned()))
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .map_err(|e| MailError::Permanent(format!("cannot build message: {e}")))?;
        match &self.transport {
            Transport::Smtp(t) => tokio::time::timeout(SEND_TIMEOUT, t.send(message))
                .await
                .map_err(|_| MailError::Transient("SMTP send timed out".into()))?
                .map(drop)
                .map_err(|e| {
                    if e.is_permanent() {
                        MailError::Permanent(format!("SMTP: {e}"))
                    } else {
                        MailError::Transient(format!("SMTP: {e}"))
                    }
                }),
            Transport::Files(t) => {
                t.send(message).await.map(drop).map_err(|e| MailError::Transient(format!("writing .eml: {e}")))
            }
        }
    }
}

fn smtp_transport(s: &SmtpSettings) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let tls = || TlsParameters::new(s.host.clone()).context("setting up TLS for SMTP");
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host)
        .port(s.port)
        .timeout(Some(Duration::from_secs(20)));
    builder = match s.tls {
        SmtpTls::Implicit => builder.tls(Tls::Wrapper(tls()?)),
        SmtpTls::StartTls => builder.tls(Tls::Required(tls()?)),
        SmtpTls::None => builder.tls(Tls::None),
    };
    if let (Some(user), Some(password)) = (&s.username, &s.password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
    }
    Ok(builder.build())
}

/// A stable Message-ID for an outbox key.
pub fn message_id_for(key: &str) -> String {
    let safe: String =
        key.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '.' }).collect();
    format!("<{safe}@guanxi>")
}
