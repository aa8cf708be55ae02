//! `guanxi` as an operator runs it: a child process of the real binary with a clean
//! environment, its output collected while it is written (a full pipe would block it), signals
//! sent with `kill`, killed when dropped, and everything it printed checked for secrets.

use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use super::app::TOKEN;
use super::fake_telegram::FakeTelegram;
use super::smtp_sink::SmtpSink;

/// The SMTP account the children log in with (the sink accepts any).
pub const SMTP_USER: &str = "guanxi-mailer";
pub const SMTP_PASSWORD: &str = "smtp-Pa55-never-logged";
/// Put into PostgreSQL URLs; the test server trusts local connections and ignores it, but a
/// leak of it would show.
pub const DB_PASSWORD: &str = "db-Pa55-never-logged";
pub const WEBHOOK_SECRET: &str = "webhook-Secret-never-logged";

/// What must never appear in anything a child prints. The token's secret half is checked on
/// its own, so a token whose `:` was percent-encoded still counts.
pub fn secrets() -> Vec<&'static str> {
    let token_secret = TOKEN.split_once(':').map_or(TOKEN, |(_, secret)| secret);
    vec![TOKEN, token_secret, SMTP_PASSWORD, DB_PASSWORD, WEBHOOK_SECRET]
}

/// `url` with [`DB_PASSWORD`] as its password when it is a PostgreSQL URL.
pub fn with_db_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.scheme().starts_with("postgres") => {
            parsed.set_password(Some(DB_PASSWORD)).expect("a PostgreSQL URL takes a password");
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// The environment a child gets: nothing of the test's own but `PATH`.
#[derive(Debug, Clone)]
pub struct Env(Vec<(String, String)>);

impl Env {
    /// `PATH` and `GUANXI_LOG=info` only.
    pub fn bare() -> Self {
        Self(vec![("PATH".into(), std::env::var("PATH").unwrap_or_default()), ("GUANXI_LOG".into(), "info".into())])
    }

    /// Everything an instance needs: the database (PostgreSQL URLs with a password), the fake
    /// Bot API, the SMTP sink with a login, and the webhook secret.
    pub fn app(database_url: &str, telegram: &FakeTelegram, smtp: &SmtpSink) -> Self {
        Self::bare()
            .set("DATABASE_URL", &with_db_password(database_url))
            .set("TELOXIDE_TOKEN", TOKEN)
            .set("TELOXIDE_API_URL", &telegram.api_url())
            .set("SMTP_URL", &format!("smtp://{SMTP_USER}:{SMTP_PASSWORD}@{}?tls=none", smtp.addr()))
            .set("MAIL_FROM", "Guanxi <guanxi@corp.example>")
            .set("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET)
    }

    /// Set (or replace) one variable.
    pub fn set(mut self, key: &str, value: &str) -> Self {
        self.0.retain(|(k, _)| k != key);
        self.0.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// Everything one child printed.
#[derive(Debug, Clone)]
pub struct Logs {
    pub name: String,
    pub stdout: String,
    pub stderr: String,
}

/// Fails, naming the child and quoting the line, if any secret appears in any of `logs`.
/// Returns how many lines were checked.
pub fn assert_no_secrets(logs: &[Logs]) -> usize {
    let secrets = secrets();
    let mut lines = 0;
    for log in logs {
        for line in log.stdout.lines().chain(log.stderr.lines()) {
            lines += 1;
            for secret in &secrets {
                assert!(!line.contains(secret), "{}: a secret ({secret}) was printed:\n{line}", log.name);
            }
        }
    }
    lines
}

type Buffer = Arc<Mutex<Vec<u8>>>;

/// A running (or finished) `guanxi` child.
pub struct Guanxi {
    name: String,
    child: Child,
    pid: u32,
    stdout: Buffer,
    stderr: Buffer,
    readers: Vec<JoinHandle<()>>,
    status: Option<ExitStatus>,
}

impl Guanxi {
    /// Start `guanxi <args>` with exactly `env`. Dropping the handle kills the process.
    pub fn spawn(name: &str, env: &Env, args: &[&str]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_guanxi"));
        command
            .args(args)
            .env_clear()
            .envs(env.0.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().unwrap_or_else(|e| panic!("{name}: guanxi does not start: {e}"));
        let pid = child.id().expect("a child that just started has a pid");
        let stdout = Buffer::default();
        let stderr = Buffer::default();
        let readers = vec![drain(child.stdout.take(), stdout.clone()), drain(child.stderr.take(), stderr.clone())];
        Self { name: name.to_owned(), child, pid, stdout, stderr, readers, status: None }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// What it wrote to standard output so far.
    pub fn stdout(&self) -> String {
        text(&self.stdout)
    }

    /// What it wrote to standard error (its log) so far.
    pub fn stderr(&self) -> String {
        text(&self.stderr)
    }

    pub fn logs(&self) -> Logs {
        Logs { name: format!("{} (pid {})", self.name, self.pid), stdout: self.stdout(), stderr: self.stderr() }
    }

    /// Send a signal by name (`STOP`, `CONT`, `TERM`, `KILL`) with the `kill` command.
    pub async fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.pid.to_string()])
            .status()
            .await
            .expect("the kill command runs");
        assert!(status.success() || self.status.is_some(), "{}: kill -{signal} {} failed", self.name, self.pid);
    }

    /// Whether it has exited (without waiting).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("polling a child");
        }
        self.status
    }

    /// Wait at most `limit` for it to exit; on timeout kill it and fail, showing its log.
    pub async fn wait(&mut self, limit: Duration) -> ExitStatus {
        let status = match self.status {
            Some(status) => status,
            None => match tokio::time::timeout(limit, self.child.wait()).await {
                Ok(status) => status.expect("waiting for a child"),
                Err(_) => {
                    // Whether it was still there tells a hang in the child from a lost exit.
                    let running = matches!(self.child.try_wait(), Ok(None));
                    let _ = self.child.kill().await;
                    self.finish_reading().await;
                    panic!(
                        "{} did not exit within {limit:?} (still running then: {running}); its output:\n{}\nthe end of its log:\n{}",
                        self.name,
                        self.stdout(),
                        tail(&self.stderr(), 60)
                    );
                }
            },
        };
        self.status = Some(status);
        self.finish_reading().await;
        status
    }

    /// Wait for a successful exit and return standard output.
    pub async fn success(&mut self, limit: Duration) -> String {
        let status = self.wait(limit).await;
        assert!(status.success(), "{} failed ({status}):\n{}{}", self.name, self.stdout(), self.stderr());
        self.stdout()
    }

    /// SIGTERM, then wait for the clean shutdown.
    pub async fn terminate(&mut self, limit: Duration) -> ExitStatus {
        if self.exited().is_none() {
            self.signal("TERM").await;
        }
        self.wait(limit).await
    }

    /// `kill -9` and reap it.
    pub async fn kill9(&mut self) -> ExitStatus {
        if self.exited().is_none() {
            self.signal("KILL").await;
        }
        self.wait(Duration::from_secs(10)).await
    }

    /// Once the process is gone its pipes close: read to their end.
    async fn finish_reading(&mut self) {
        for reader in self.readers.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
        }
    }
}

/// Copy a pipe into `into` until it closes.
fn drain<R: AsyncRead + Unpin + Send + 'static>(pipe: Option<R>, into: Buffer) -> JoinHandle<()> {
    tokio::spawn(async move {
        let Some(mut pipe) = pipe else { return };
        let mut chunk = [0u8; 8192];
        while let Ok(read) = pipe.read(&mut chunk).await {
            if read == 0 {
                return;
            }
            into.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(&chunk[..read]);
        }
    })
}

/// The last `lines` lines of `log`, saying how many came before: what a process did last is
/// what explains a hang, and a report's reader may see only the beginning of a long message.
fn tail(log: &str, lines: usize) -> String {
    let all: Vec<&str> = log.lines().collect();
    let skipped = all.len().saturating_sub(lines);
    let end = all[skipped..].join("\n");
    if skipped == 0 { end } else { format!("[{skipped} earlier lines]\n{end}") }
}

fn text(buffer: &Buffer) -> String {
    String::from_utf8_lossy(&buffer.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
}
