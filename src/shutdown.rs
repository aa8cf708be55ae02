//! A stop signal shared by the long-running tasks (worker, scheduler, bot).

use tokio::sync::watch;

/// Tells every holder of a [`Shutdown`] to stop.
#[derive(Debug)]
pub struct ShutdownHandle(watch::Sender<bool>);

/// Resolves once shutdown was requested.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

pub fn channel() -> (ShutdownHandle, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (ShutdownHandle(tx), Shutdown(rx))
}

impl ShutdownHandle {
    pub fn trigger(&self) {
        let _ = self.0.send(true);
    }
}

impl Shutdown {
    /// Whether shutdown was requested (without waiting).
    pub fn is_requested(&self) -> bool {
        *self.0.borrow()
    }

    pub async fn cancelled(&self) {
        let mut rx = self.0.clone();
        let _ = rx.wait_for(|stopped| *stopped).await;
    }
}
