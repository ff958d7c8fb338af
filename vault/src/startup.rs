//! Building and running the HTTP application; shared by `dnu-vault serve`
//! and the tests (the routes are [`crate::router`]'s).

use std::{future::Future, net::SocketAddr};

use tokio::net::TcpListener;

use crate::{
    app::{Schema, Vault},
    config::Config,
    error::Error,
    router::router,
};

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    vault: Vault,
}

impl Application {
    /// Opens the vault and binds the listening socket.
    pub async fn build(config: Config) -> Result<Self, Error> {
        let listen = config.listen;
        let vault = Vault::open(config, Schema::RequireCurrent).await?;
        let listener =
            TcpListener::bind(listen).await.map_err(|e| Error::Config(format!("cannot listen on {listen}: {e}")))?;
        Ok(Self { listener, vault })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// Serves until `shutdown` completes, then stops accepting and lets
    /// in-flight requests (uploads included) finish.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), Error> {
        let app = router(self.vault.clone());
        let checkpoints = tokio::spawn(periodic_checkpoints(self.vault.clone()));
        // Told to stop at shutdown: a pass cut short rolls back its open
        // transaction and resumes on the next start; an e-mail being sent
        // finishes, so no claim outlives the process.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let scrubber = tokio::spawn(crate::jobs::scrub::background(
            self.vault.clone(),
            self.vault.config().scrub,
            stopped.clone(),
        ));
        let trims = tokio::spawn(crate::memory::give_back(stopped.clone()));
        let daily = tokio::spawn(crate::jobs::lifecycle::daily(self.vault.clone(), stopped));
        crate::listener::serve(self.listener, app, self.vault.config().connections.clone(), shutdown).await;
        checkpoints.abort();
        let _ = stop.send(true);
        // A dossier being scrubbed is only read: nothing to finish.
        scrubber.abort();
        trims.abort();
        let daily_abort = daily.abort_handle();
        // The mailer's own timeout (20 s) bounds the message in flight.
        if tokio::time::timeout(DAILY_GRACE, daily).await.is_err() {
            daily_abort.abort();
        }
        // The last events of this process are signed before it goes.
        if let Err(e) = crate::audit::write_checkpoint(&self.vault).await {
            tracing::error!(error = %e, "audit checkpoint at shutdown failed");
        }
        self.vault.db().close().await;
        Ok(())
    }

    /// Serves until SIGTERM or Ctrl-C. The signal handlers are installed
    /// before "listening" is logged, so a supervisor that sends SIGTERM as
    /// soon as it sees the server up gets a graceful stop, not a kill.
    pub async fn run_until_stopped(self) -> Result<(), Error> {
        let stop = shutdown_signal()?;
        tracing::info!(listen = %self.local_addr(), "DNU Vault listening");
        self.run_until(stop).await
    }
}

/// How often a running server signs the audit chain head.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(300);
/// How long shutdown waits for the daily loop to put down its work.
const DAILY_GRACE: std::time::Duration = std::time::Duration::from_secs(25);

/// Signs the chain head now and then every [`CHECKPOINT_EVERY`]. Success
/// (a checkpoint written, or the head already covered, possibly by another
/// replica) resets the `dnu_vault_audit_checkpoint_age_seconds` gauge.
async fn periodic_checkpoints(vault: Vault) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    loop {
        tick.tick().await;
        match crate::audit::write_checkpoint(&vault).await {
            Ok(_) => crate::metrics::global().checkpoint_ok(),
            Err(e) => tracing::error!(error = %e, "audit checkpoint failed"),
        }
    }
}

#[cfg(unix)]
fn shutdown_signal() -> Result<impl Future<Output = ()> + Send + 'static, Error> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        tracing::info!("shutting down: finishing in-flight requests");
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> Result<impl Future<Output = ()> + Send + 'static, Error> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: finishing in-flight requests");
    })
}
