//! The HTTP accept loop. `axum::serve` sets no header-read timeout, no idle
//! timeout and no cap on connections, so a client holding ~1,100 idle
//! sockets (slowloris) used up the process's file descriptors and even
//! `/healthz` stopped answering. This loop serves the same router through
//! hyper's HTTP/1 connection with all three (`HttpConfig` in
//! `ingress/src/config.rs`, README "Configuration"), keeps `ConnectInfo` for
//! the handlers (the brute-force limiter keys on the client address), and
//! shuts down gracefully within a deadline: on `stop` it closes the
//! listener (new connections are refused), closes idle keep-alive
//! connections, lets each request in flight finish and answer, and after
//! `SHUTDOWN_GRACE_MS` closes whatever is still open (without that bound a
//! client dribbling a request body kept the process alive as long as it
//! liked). With `TLS_CERT_FILE`/`TLS_KEY_FILE` set it serves HTTPS: the
//! acceptor is `ingress/src/tls.rs`'s, the handshake runs in each
//! connection's task under the same cap and timeouts.

use std::{
    future::Future,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::Duration,
};

use crate::config::HttpConfig;
use axum::{extract::ConnectInfo, Router};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::Semaphore,
    time::Instant,
};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Counts of connections being served, for tests and logs.
#[derive(Clone, Default, Debug)]
pub struct ConnectionStats(Arc<Counts>);

#[derive(Default, Debug)]
struct Counts {
    open: AtomicUsize,
    peak: AtomicUsize,
}

impl ConnectionStats {
    /// Connections accepted and not yet closed.
    pub fn open(&self) -> usize {
        self.0.open.load(Ordering::SeqCst)
    }

    /// The most connections ever open at once.
    pub fn peak(&self) -> usize {
        self.0.peak.load(Ordering::SeqCst)
    }

    fn opened(&self) -> OpenGuard {
        let now = self.0.open.fetch_add(1, Ordering::SeqCst) + 1;
        self.0.peak.fetch_max(now, Ordering::SeqCst);
        OpenGuard(self.clone())
    }
}

/// Counts one open connection until dropped.
struct OpenGuard(ConnectionStats);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0 .0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Serves `app` on `listener` until `stop`, then stops accepting, lets each
/// connection finish its request in flight, and returns once all closed or
/// `limits.shutdown_grace` after `stop`, whichever comes first (the
/// connections still open then are closed without an answer). With `tls`,
/// every connection is TLS (its handshake in the connection's own task,
/// bounded by the header-read timeout); plain HTTP otherwise.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: HttpConfig,
    tls: Option<TlsAcceptor>,
    stats: ConnectionStats,
    stop: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    // hyper measures the header timeout from when it starts waiting for a
    // request head, so it covers the first request and every keep-alive
    // wait for the next one; it needs a timer to take effect at all.
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let http = Arc::new(http);
    // Cancelled when the grace period is over: cuts the connections left.
    let cut = CancellationToken::new();
    let mut backoff = AcceptBackoff::default();
    let mut at_cap = false;
    loop {
        // A free slot before accepting: at the cap new connections wait in
        // the kernel's backlog, which costs this process no descriptor.
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => {
                at_cap = false;
                slot
            }
            Err(_) => {
                if !at_cap {
                    at_cap = true;
                    tracing::warn!(
                        max = limits.max_connections,
                        "connection cap reached (HTTP_MAX_CONNECTIONS); new connections wait until one closes"
                    );
                }
                tokio::select! {
                    slot = slots.clone().acquire_owned() => match slot {
                        Ok(slot) => slot,
                        // Closed only if dropped, which this loop never does.
                        Err(_) => break,
                    },
                    _ = stop.cancelled() => break,
                }
            }
        };
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    backoff.failed(e).await;
                    continue;
                }
            },
            _ = stop.cancelled() => break,
        };
        backoff.reset();
        let activity = Arc::new(Activity::new());
        let tracked = Tracked {
            inner: tcp,
            activity: activity.clone(),
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            // What `into_make_service_with_connect_info` used to insert.
            req.extensions_mut().insert(ConnectInfo(remote));
            app.clone().oneshot(req)
        });
        // Taken here, before the shutdown can begin, so a shutdown that
        // starts during a TLS handshake still reaches this connection.
        let watcher = graceful.watcher();
        let open = stats.opened();
        let (http, tls, stop, cut) = (http.clone(), tls.clone(), stop.clone(), cut.clone());
        let (idle_timeout, handshake_timeout) = (limits.idle_timeout, limits.header_read_timeout);
        tokio::spawn(async move {
            let _slot = slot;
            let _open = open;
            let Some(acceptor) = tls else {
                let conn = watcher.watch(http.serve_connection(TokioIo::new(tracked), service));
                return served(conn, &activity, idle_timeout, &cut, remote).await;
            };
            // Here, not in the accept loop: a slow or silent client holds
            // only its own task, at most the header-read timeout (hyper's
            // own header timeout starts once the handshake is done).
            let handshake = tokio::select! {
                done = tokio::time::timeout(handshake_timeout, acceptor.accept(tracked)) => done,
                // No request has started: nothing to finish.
                _ = stop.cancelled() => return,
            };
            match handshake {
                Ok(Ok(stream)) => {
                    let conn = watcher.watch(http.serve_connection(TokioIo::new(stream), service));
                    served(conn, &activity, idle_timeout, &cut, remote).await;
                }
                Ok(Err(e)) => {
                    tracing::debug!(%remote, error = %e, "TLS handshake failed; connection dropped");
                }
                Err(_) => {
                    tracing::debug!(
                        %remote,
                        "TLS handshake not done within HTTP_HEADER_READ_TIMEOUT_MS; connection dropped"
                    );
                }
            }
        });
    }
    // Closing the listener refuses new connections (and resets those
    // waiting in the kernel's backlog, which never reached a handler).
    drop(listener);
    let open = stats.open();
    tracing::info!(
        open,
        grace_ms = limits.shutdown_grace.as_millis() as u64,
        "no longer accepting connections; finishing requests in flight"
    );
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            open = stats.open(),
            "SHUTDOWN_GRACE_MS over; closing the connections still open"
        );
        cut.cancel();
    }
}

/// Drives one connection until it ends, no byte moves on it for
/// `idle_timeout`, or `cut` (the shutdown's grace is over).
async fn served<C>(
    conn: C,
    activity: &Activity,
    idle_timeout: Duration,
    cut: &CancellationToken,
    remote: SocketAddr,
) where
    C: Future<Output = hyper::Result<()>>,
{
    tokio::select! {
        served = conn => {
            if let Err(e) = served {
                tracing::debug!(%remote, error = %e, "connection ended with an error");
            }
        }
        // Dropping the connection closes the socket.
        _ = activity.idle_for(idle_timeout) => {
            tracing::debug!(%remote, "closing a connection idle for HTTP_IDLE_TIMEOUT_MS");
        }
        _ = cut.cancelled() => {
            tracing::debug!(%remote, "closing a connection still open at the end of SHUTDOWN_GRACE_MS");
        }
    }
}

/// How the loop waits after an accept error. A refused or reset handshake
/// concerns one client only; anything else (EMFILE, ENFILE, ENOBUFS) will
/// fail again at once, so back off instead of spinning and flooding the log.
#[derive(Default)]
struct AcceptBackoff {
    delay: Option<Duration>,
}

impl AcceptBackoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MAX: Duration = Duration::from_secs(1);

    async fn failed(&mut self, e: io::Error) {
        if matches!(
            e.kind(),
            io::ErrorKind::ConnectionRefused
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::ConnectionReset
        ) {
            return;
        }
        let delay = self.delay.map_or(Self::FIRST, |d| (d * 2).min(Self::MAX));
        self.delay = Some(delay);
        tracing::error!(error = %e, retry_in_ms = delay.as_millis() as u64, "accept error");
        tokio::time::sleep(delay).await;
    }

    fn reset(&mut self) {
        self.delay = None;
    }
}

/// When a connection last moved a byte, for the idle timeout.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Resolves once no byte has moved for `timeout`.
    async fn idle_for(&self, timeout: Duration) {
        loop {
            let last = self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let due = last + timeout;
            if Instant::now() >= due {
                return;
            }
            tokio::time::sleep_until(due).await;
        }
    }
}

/// A TCP stream that records each read and write in its `Activity`.
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
