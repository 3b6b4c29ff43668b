//! Serving the simulator: an accept loop that runs each TCP connection with hyper, so a
//! handler can close its connection without any HTTP answer (the "dropped connection"
//! faults), plus graceful shutdown and the [`Sim`] handle tests use.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::accounts::{Seed, SimOptions, SimState};

/// Per-connection control put into every request's extensions: a handler calls
/// [`ConnCtl::drop_now`] and the connection is closed at once, without a response.
#[derive(Clone, Default)]
pub struct ConnCtl {
    kill: Arc<Notify>,
}

impl ConnCtl {
    /// Closes this request's TCP connection without answering.
    pub fn drop_now(&self) {
        self.kill.notify_one();
    }
}

/// Serves `app` on `listener` until `shutdown` completes; in-flight connections then get
/// up to 5 s to finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let (stream, _peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let mut stop = stop_rx.clone();
        conns.spawn(async move {
            let ctl = ConnCtl::default();
            let kill = ctl.kill.clone();
            let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ctl.clone());
                let app = app.clone();
                async move {
                    let resp = app.oneshot(req.map(Body::new)).await;
                    Ok::<_, Infallible>(match resp {
                        Ok(r) => r,
                        Err(never) => match never {},
                    })
                }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), svc);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                // Dropping `conn` closes the socket with no answer.
                _ = kill.notified() => {}
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(5), conn.as_mut()).await;
                }
            }
        });
        while conns.try_join_next().is_some() {}
    }
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(6), async {
        while conns.join_next().await.is_some() {}
    })
    .await;
}

/// A running simulator on 127.0.0.1 with a random port. Dropping it stops the server.
pub struct Sim {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base_url: String,
    pub addr: SocketAddr,
    state: SimState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Sim {
    /// Starts an empty simulator on the current tokio runtime.
    pub async fn start() -> anyhow::Result<Sim> {
        Self::start_with(SimOptions::default(), Seed::default()).await
    }

    /// Starts a simulator loaded with `seed`.
    pub async fn start_with_seed(seed: Seed) -> anyhow::Result<Sim> {
        Self::start_with(SimOptions::default(), seed).await
    }

    /// Starts a simulator with explicit options (e.g. a short rate-limit window).
    pub async fn start_with(options: SimOptions, seed: Seed) -> anyhow::Result<Sim> {
        let state = SimState::new(options);
        state.load_seed(&seed).await?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = crate::router(state.clone());
        let task = tokio::spawn(serve(listener, app, async move {
            let _ = rx.await;
        }));
        Ok(Sim {
            base_url: format!("http://{addr}"),
            addr,
            state,
            stop: Some(tx),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT/{domain}`: the value for `FRESHSERVICE_URL_TEMPLATE`.
    pub fn url_template(&self) -> String {
        format!("{}/{{domain}}", self.base_url)
    }

    /// `http://127.0.0.1:PORT/DOMAIN`: one account's base URL.
    pub fn account_url(&self, domain: &str) -> String {
        format!("{}/{}", self.base_url, domain)
    }

    /// Creates an account directly (same as `POST /_sim/accounts`).
    pub async fn add_account(&self, spec: crate::AccountSpec) -> anyhow::Result<()> {
        Ok(self.state.create_account(&spec).await?)
    }

    /// The simulator's state, for direct inspection in tests.
    pub fn state(&self) -> &SimState {
        &self.state
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}
