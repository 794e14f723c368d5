//! The owner's view over HTTP: one read-only page and the calendar feed,
//! served by the daemon when the config has a `[web]` section.
//!
//! # What it owns
//! The listener and its reloads ([`run`]), routing and the token check
//! ([`routes`], [`token`]), the answers with their headers ([`respond`]),
//! and the page, rendered on the server from `templates/` here, with charts
//! drawn as inline SVG and no script ([`page`], [`charts`]). It owns no
//! facts: the page is built from [`crate::status::build`],
//! [`crate::schedule::plan`], [`crate::record`] and the journal, and the
//! feed is [`crate::schedule::feed`] byte for byte what `handoff ics`
//! writes, so whatever those say, the page says.
//!
//! # Safe by construction
//! - Read-only: GET and HEAD only (anything else is 405); no forms, no
//!   write route; each answer opens the store, reads, and closes it.
//! - Off by default; on, every route needs the token (cookie, query, or the
//!   feed's path), compared in constant time; a wrong or missing one gets
//!   the same 404 on every route.
//! - Everything from the config or from mail is escaped (minijinja's HTML
//!   auto-escape); a strict Content-Security-Policy (no script at all, the
//!   stylesheet from this server only), `Cache-Control: no-store`,
//!   `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`.
//! - A malformed request is a plain 4xx from hyper or from [`routes`];
//!   requests are small (16 KiB of headers at most), slow ones are cut
//!   ([`HEADER_TIMEOUT`], [`CONNECTION_LIFETIME`]), and at most
//!   [`MAX_CONNECTIONS`] are served at once.
//!
//! # How it runs
//! One task on the daemon's runtime ([`run`]): it follows the config
//! channel, binds `[web] listen` when the section appears, rebinds when
//! `listen` changes, re-reads the token file on every new config (SIGHUP
//! after rotating it), and stops listening when the section goes. A bind
//! that fails is reported (the daemon marks the task degraded) and retried
//! with the next config; mail goes on regardless.
//!
//! A page is built on the daemon's one thread, synchronously (the store is
//! SQLite, the work is reads and rendering): about 1 ms with one
//! engagement, 20 ms with 100, 200 ms with 1 000 (`cargo bench --bench
//! web`); meanwhile the other tasks wait, as they do for a pass. The feed
//! costs what `handoff ics` costs.
//!
//! # Where it stands
//! After the views, before the daemon that starts it: it must not import
//! the daemon or the CLI; the daemon hands it the config channel, the clock
//! and a shutdown future.

pub mod charts;
pub mod page;
pub mod respond;
pub mod routes;
pub mod token;

#[cfg(test)]
mod tests;

use crate::clock::Clock;
use crate::model::{Model, Secret, WebSettings};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// How long a client may take to send a request's headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest a connection is kept open (keep-alive included).
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);

/// Connections served at once; more wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 16;

/// The most a request's head may hold (hyper's smallest buffer is 8 KiB).
const MAX_REQUEST: usize = 16 * 1024;

/// The config as the web task needs it: the daemon's current config
/// implements this, so the server follows reloads without importing the
/// daemon.
pub trait Config: Send + Sync + 'static {
    fn model(&self) -> &Model;
}

/// How the server stands, for the daemon's health and log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Serving {
    /// No `[web]` section.
    Off,
    /// Listening here.
    On(SocketAddr),
    /// Configured but not serving, and why.
    Failed(String),
}

/// What every answer shares: the config in force, the token, the clock,
/// and the feed's validators.
pub struct Shared<C: Config> {
    config: watch::Receiver<Arc<C>>,
    token: Mutex<Arc<Secret>>,
    clock: Arc<dyn Clock>,
    feed: respond::FeedStamp,
}

impl<C: Config> Shared<C> {
    fn token(&self) -> Arc<Secret> {
        // A poisoned lock only means a panic while swapping an Arc.
        self.token.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Serves `[web]` until `shutdown` resolves, following `config`.
pub async fn run<C: Config>(
    mut config: watch::Receiver<Arc<C>>,
    clock: Arc<dyn Clock>,
    mut shutdown: Pin<Box<dyn Future<Output = ()> + Send>>,
    report: impl Fn(Serving) + Send,
) {
    let mut serving: Option<(WebSettings, Listening)> = None;
    let shared_feed = respond::FeedStamp::default();
    let mut shared: Option<Arc<Shared<C>>> = None;
    loop {
        let settings = config.borrow_and_update().model().web.clone();
        match settings {
            None => {
                if serving.take().is_some() {
                    tracing::info!("[web] removed: the page is no longer served");
                }
                report(Serving::Off);
            }
            Some(web) => match web.read_token() {
                Err(e) => {
                    serving = None;
                    tracing::error!("[web] not served: {e}");
                    report(Serving::Failed(e));
                }
                Ok(token) => {
                    let token = Arc::new(token);
                    match &shared {
                        Some(s) => *s.token.lock().unwrap_or_else(|e| e.into_inner()) = token,
                        None => {
                            shared = Some(Arc::new(Shared {
                                config: config.clone(),
                                token: Mutex::new(token),
                                clock: clock.clone(),
                                feed: shared_feed.clone(),
                            }))
                        }
                    }
                    let same = serving
                        .as_ref()
                        .is_some_and(|(s, _)| s.listen == web.listen);
                    if !same {
                        serving = None;
                        match TcpListener::bind(web.listen).await {
                            Ok(listener) => {
                                let addr = listener.local_addr().unwrap_or(web.listen);
                                tracing::info!(%addr, "serving the owner's page and feed");
                                let Some(s) = shared.clone() else { continue };
                                serving = Some((web.clone(), Listening::start(listener, s)));
                                report(Serving::On(addr));
                            }
                            Err(e) => {
                                let why = format!("cannot listen on {}: {e}", web.listen);
                                tracing::error!("[web] not served: {why}");
                                report(Serving::Failed(why));
                            }
                        }
                    }
                }
            },
        }
        tokio::select! {
            changed = config.changed() => {
                if changed.is_err() {
                    // The daemon dropped the config channel: it is stopping.
                    shutdown.as_mut().await;
                    return;
                }
            }
            () = shutdown.as_mut() => return,
        }
    }
}

/// A listener and the connections it accepted; dropping it stops both
/// (aborting a read-only answer loses nothing).
struct Listening {
    tasks: JoinSet<()>,
}

impl Listening {
    fn start<C: Config>(listener: TcpListener, shared: Arc<Shared<C>>) -> Listening {
        let mut tasks = JoinSet::new();
        tasks.spawn(accept(listener, shared));
        Listening { tasks }
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.tasks.abort_all();
    }
}

async fn accept<C: Config>(listener: TcpListener, shared: Arc<Shared<C>>) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    loop {
        // Reap finished connections so the set does not grow.
        while connections.try_join_next().is_some() {}
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let (stream, _peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                // Out of file descriptors and the like: pause, do not spin.
                tracing::warn!(error = %e, "web: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let shared = shared.clone();
        connections.spawn(async move {
            let _permit = permit;
            let service = service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, std::convert::Infallible>(respond::answer(&shared, &req)) }
            });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(MAX_REQUEST)
                .serve_connection(TokioIo::new(stream), service);
            // Errors here are the client's (a reset, garbage): nothing to tell.
            let _ = tokio::time::timeout(CONNECTION_LIFETIME, conn).await;
        });
    }
}
