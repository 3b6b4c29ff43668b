//! Waiting for the signal to stop: both binaries stop on Ctrl-C or SIGTERM
//! (what `kill`, systemd and Kubernetes send) and then drain their work.

/// Resolves on Ctrl-C or SIGTERM. If the SIGTERM handler cannot be
/// installed (no signal support), waits for Ctrl-C alone and says so.
pub async fn signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; stop with Ctrl-C");
            }
        }
    }
    let _ = ctrl_c.await;
}
