//! A started engagement on the stack (its instructions sent through Postfix)
//! and an IMAP watcher running on it, reporting what it does: for the
//! watcher's tests, the daemon's tests and the inbox benchmark.

use super::MailStack;
use chrono::{DateTime, Utc};
use handoff::clock::FixedClock;
use handoff::inbox::Outcome;
use handoff::inbox::imap_watch::{FixedPipeline, Folder, WatchEvent, Watcher};
use handoff::model::Model;
use handoff::outbox::Transport;
use handoff::store::Store;
use handoff::templates::Templates;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// An owner whose instructions went to the contractor.
pub struct Owner {
    _dir: tempfile::TempDir,
    pub model: Arc<Model>,
    pub templates: Arc<Templates>,
    /// The store file.
    pub state: PathBuf,
    /// The engagement.
    pub id: String,
    /// The instructions' Message-ID, with angle brackets: replies cite it.
    pub root: String,
}

/// Writes a config for `stack` (`mail`: the body of `[mail]`; `imap_extra`:
/// more `[imap]` keys) with one engagement `id`, and runs the first pass at
/// `now`, which sends the instructions.
pub async fn owner(
    stack: &MailStack,
    mail: &str,
    imap_extra: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Owner {
    let dir = tempfile::tempdir().unwrap();
    let path = stack.write_config(dir.path(), mail, imap_extra, &super::engagement(id));
    owner_of(stack, dir, path, id, now).await
}

/// [`owner`] for a config already written at `path` (in `dir`, kept as
/// long as the owner is): its first pass at `now` sends the instructions.
pub async fn owner_of(
    stack: &MailStack,
    dir: tempfile::TempDir,
    path: PathBuf,
    id: &str,
    now: DateTime<Utc>,
) -> Owner {
    let model = handoff::config::load(&path).expect("config").model;
    let templates = Templates::load(None).unwrap();
    let transport = Transport::from_model(&model).unwrap();
    let mut store = Store::open(&model.mail.state).unwrap();
    handoff::pass::run_once(&model, &templates, &mut store, &transport, now)
        .await
        .expect("first pass sends the instructions");
    let root = store
        .thread_root(id, &stack.contractor.user)
        .unwrap()
        .expect("instructions sent");
    Owner {
        state: model.mail.state.clone(),
        _dir: dir,
        model: Arc::new(model),
        templates: Arc::new(templates),
        id: id.to_string(),
        root,
    }
}

/// A reply from the contractor to the owner on the thread that starts at
/// `root` (with brackets), for engagement `id`; `message_id` bare.
pub fn reply(stack: &MailStack, id: &str, root: &str, message_id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Dana Diaz <{from}>\r\nTo: {to}\r\nSubject: Re: Instructions [{id}]\r\n\
         Message-ID: <{message_id}>\r\nIn-Reply-To: {root}\r\nReferences: {root}\r\n\
         Date: Tue, 24 Nov 2026 10:00:00 -0500\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        from = stack.contractor.user,
        to = stack.owner.user,
    )
    .into_bytes()
}

/// An RFC 3339 instant.
pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A running watcher and what it reports.
pub struct Running {
    events: mpsc::UnboundedReceiver<WatchEvent>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// Starts a watcher on `o`'s `[imap]`, its clock standing at `now`.
pub fn spawn(o: &Owner, now: DateTime<Utc>) -> Running {
    let (tx, events) = mpsc::unbounded_channel();
    let (stop, stop_rx) = watch::channel(false);
    let watcher = Watcher::new(
        o.model.imap.clone().unwrap(),
        Store::open(&o.state).unwrap(),
        Arc::new(FixedClock::new(now)),
        FixedPipeline {
            model: o.model.clone(),
            templates: o.templates.clone(),
        },
    )
    .with_events(tx);
    Running {
        events,
        stop,
        task: tokio::spawn(watcher.run(stop_rx)),
    }
}

impl Running {
    /// The next event, within `within`.
    pub async fn next(&mut self, within: Duration) -> WatchEvent {
        tokio::time::timeout(within, self.events.recv())
            .await
            .expect("the watcher reported in time")
            .expect("the watcher is running")
    }

    /// The next event for which `f` returns something, within `within`.
    pub async fn until<T>(
        &mut self,
        within: Duration,
        mut f: impl FnMut(WatchEvent) -> Option<T>,
    ) -> T {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if let Some(v) = f(self.next(left).await) {
                return v;
            }
        }
    }

    /// The next event, however long it takes (`None` once the watcher ended).
    pub async fn recv(&mut self) -> Option<WatchEvent> {
        self.events.recv().await
    }

    /// Waits until the watcher has logged in.
    pub async fn connected(&mut self) {
        self.until(Duration::from_secs(20), |e| {
            matches!(e, WatchEvent::Connected { .. }).then_some(())
        })
        .await;
    }

    /// Inbox outcomes until `n` were recorded (at least), with the instant
    /// the last batch committed.
    pub async fn recorded(&mut self, n: usize, within: Duration) -> (Vec<Outcome>, Instant) {
        let mut all = Vec::new();
        loop {
            let (outcomes, at) = self
                .until(within, |e| match e {
                    WatchEvent::Recorded {
                        folder: Folder::Inbox,
                        outcomes,
                        at,
                    } => Some((outcomes, at)),
                    _ => None,
                })
                .await;
            all.extend(outcomes);
            if all.len() >= n {
                return (all, at);
            }
        }
    }

    /// Asks the watcher to stop; it must within 10 s.
    pub async fn stop(self) {
        self.stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the watcher stops within 10 s")
            .unwrap();
    }
}
