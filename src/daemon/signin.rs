//! The sign-in task: watches the OAuth 2.0 sign-ins of the config in force
//! and turns a change of their health into what the owner sees.
//!
//! - A sign-in that needs the owner ([`Health::SignInNeeded`]: the provider
//!   refused the refresh token, none is stored, the server refuses fresh
//!   tokens) becomes, once per episode: a journal event
//!   (`oauth_sign_in_needed`), an error line in the log (the systemd
//!   journal), the `handoff status` line (the store key [`key`]) and one
//!   owner notice (`notice_sign_in`) with the command to run, by mail when
//!   mail can still go out (local mode, or an SMTP account that does not
//!   sign in with this sign-in; a notice queued behind the very sign-in it
//!   is about would arrive after the fix, as noise).
//! - When it works again: `oauth_signed_in` in the journal, the status line
//!   gone, mail that waited for it due at once, the work loop woken.
//! - The token files and the credential are watched (inotify, as the config
//!   is): `handoff login` in another terminal is tried within a moment.
//!
//! The episode is in the store, so a restart during it tells nobody again.
//! Nothing here opens a port or talks to the provider beyond what the token
//! source does.

use super::{Current, TaskContext};
use crate::model::{Model, Outgoing, ServerAuth};
use crate::oauth::{self, Health, TokenSource};
use crate::outbox::Composer;
use crate::store::{NewEvent, Store};
use crate::templates::Purpose;
use chrono::{DateTime, Utc};
use notify::{RecursiveMode, Watcher};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::Notify;

/// The store key holding "since|error" while a sign-in needs the owner.
pub fn key(source: &TokenSource) -> String {
    format!(
        "oauth/sign_in_needed/{}",
        source.settings().token_file.display()
    )
}

/// The command that fixes it, for the notice, the log and `status`.
pub fn login_command(config: &std::path::Path) -> String {
    format!("handoff login --config {}", config.display())
}

/// Runs until shutdown.
pub(super) async fn run(mut ctx: TaskContext) {
    loop {
        let current: Arc<Current> = ctx.config.borrow_and_update().clone();
        let sources = oauth::sources_of(&current.loaded.model);
        if sources.is_empty() {
            tokio::select! {
                changed = ctx.config.changed() => if changed.is_err() { return },
                () = ctx.shutdown.recv() => return,
            }
            continue;
        }
        let mut store = match Store::open(&ctx.store_path) {
            Ok(s) => s,
            Err(e) => {
                ctx.liveness.failed(format!("cannot open the store: {e}"));
                ctx.shutdown.recv().await;
                return;
            }
        };
        let files = Arc::new(Notify::new());
        let _watch = watch_files(&sources, files.clone());
        let mut health: Vec<_> = sources.iter().map(|s| s.subscribe()).collect();
        // Health as it is now: a sign-in nobody asked for yet is tried once,
        // so a missing or dead one is told at start, not at the first send.
        for s in &sources {
            if s.health() == Health::Ready
                && let Err(e) = s.bearer().await
            {
                tracing::debug!(account = %s.user(), error = %e, "the sign-in does not work at start");
            }
        }
        for (s, rx) in sources.iter().zip(health.iter_mut()) {
            let h = rx.borrow_and_update().clone();
            report(&ctx, &current, &mut store, s, &h);
        }
        loop {
            enum Event {
                Health(usize),
                Files,
                Config,
            }
            let event = {
                let changed_health =
                    futures::future::select_all(health.iter_mut().map(|rx| Box::pin(rx.changed())));
                tokio::select! {
                    (result, index, _) = changed_health => match result {
                        Ok(()) => Event::Health(index),
                        // The source is gone (it never is: the registry keeps it).
                        Err(_) => Event::Config,
                    },
                    () = files.notified() => Event::Files,
                    changed = ctx.config.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        Event::Config
                    }
                    () = ctx.shutdown.recv() => return,
                }
            };
            match event {
                Event::Health(i) => {
                    let h = health[i].borrow_and_update().clone();
                    report(&ctx, &current, &mut store, &sources[i], &h);
                }
                Event::Files => {
                    for s in &sources {
                        s.reload().await;
                    }
                }
                Event::Config => break,
            }
        }
    }
}

/// Watches the directories of the token files and credentials (a login
/// writes a new file and renames it into place). `None` when inotify is not
/// there: a new sign-in is then found at the next reconnect.
fn watch_files(
    sources: &[Arc<TokenSource>],
    wake: Arc<Notify>,
) -> Option<notify::RecommendedWatcher> {
    let mut names: Vec<PathBuf> = Vec::new();
    for s in sources {
        names.push(s.settings().token_file.clone());
        if let Some(c) = &s.settings().credential {
            names.push(c.clone());
        }
    }
    let wanted = names.clone();
    let mut watcher = notify::recommended_watcher(move |e: notify::Result<notify::Event>| {
        if let Ok(e) = e
            && e.paths.iter().any(|p| wanted.iter().any(|w| w == p))
        {
            wake.notify_one();
        }
    })
    .map_err(|e| tracing::warn!(error = %e, "cannot watch the token files; a new sign-in is noticed at the next reconnect"))
    .ok()?;
    for dir in names.iter().filter_map(|n| n.parent()) {
        if let Err(e) = watcher.watch(dir, RecursiveMode::NonRecursive) {
            tracing::debug!(dir = %dir.display(), error = %e, "cannot watch for a new sign-in here");
        }
    }
    Some(watcher)
}

/// Records a sign-in's health once per change of episode.
fn report(
    ctx: &TaskContext,
    current: &Current,
    store: &mut Store,
    source: &TokenSource,
    h: &Health,
) {
    let now = ctx.clock.now();
    let result = match h {
        Health::SignInNeeded { error, since } => needed(current, store, source, error, *since, now)
            .map(|told| {
                if told {
                    ctx.wake.wake();
                }
            }),
        Health::Ready => recovered(store, source, now).map(|back| {
            if back {
                ctx.wake.wake();
            }
        }),
        Health::Trouble { .. } => Ok(()),
    };
    if let Err(e) = result {
        tracing::error!(error = %e, "cannot record the sign-in's state");
    }
}

/// A sign-in needs the owner: journal, status key, log and notice, unless
/// this episode was told already. Returns whether it was new.
fn needed(
    current: &Current,
    store: &mut Store,
    source: &TokenSource,
    error: &str,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, crate::store::StoreError> {
    let key = key(source);
    if store.scheduler_get(&key)?.is_some() {
        return Ok(false);
    }
    let model = &current.loaded.model;
    let command = login_command(&current.loaded.path);
    let account = source.user().to_string();
    let affects = affects(model, source);
    tracing::error!(account = %account, error = %error,
        "cannot sign in to {account}: {affects}; run `{command}`");
    let notice = if mail_still_goes(model, source) {
        let composer = Composer {
            model,
            templates: &current.templates,
        };
        let extra = [
            ("account", account.clone()),
            (
                "since",
                crate::templates::local_time(since, model.owner.timezone),
            ),
            ("error", error.to_string()),
            ("command", command.clone()),
            ("affects", affects.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let idem = format!("notice_sign_in/{account}/{}", since.to_rfc3339());
        match composer.compose_system(Purpose::NoticeSignIn, idem, extra, now) {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "cannot compose the sign-in notice");
                None
            }
        }
    } else {
        tracing::warn!(account = %account, "the notice cannot go by mail: sending signs in with the same sign-in; `handoff status` shows it");
        None
    };
    store.transaction(|tx| {
        tx.scheduler_set(&key, &format!("{}|{error}", since.to_rfc3339()), now)?;
        tx.record_event(
            &NewEvent::internal("oauth_sign_in_needed")
                .detail(format!("{account}: {error}; run `{command}`")),
            now,
        )?;
        if let Some(n) = &notice {
            tx.enqueue(n, now)?;
        }
        Ok(())
    })?;
    Ok(true)
}

/// A sign-in works (again): ends the episode. Returns whether there was one.
fn recovered(
    store: &mut Store,
    source: &TokenSource,
    now: DateTime<Utc>,
) -> Result<bool, crate::store::StoreError> {
    let key = key(source);
    let Some(was) = store.scheduler_get(&key)? else {
        return Ok(false);
    };
    let since = was.split('|').next().unwrap_or_default().to_string();
    tracing::info!(account = %source.user(), "signed in again");
    let waiting = store.transaction(|tx| {
        tx.delete_scheduler_key(&key)?;
        tx.record_event(
            &NewEvent::internal("oauth_signed_in").detail(format!(
                "{}: signed in again (needed since {since})",
                source.user()
            )),
            now,
        )?;
        tx.retry_waiting(crate::outbox::sender::SIGN_IN_WAIT, now)
    })?;
    if waiting > 0 {
        tracing::info!(mails = waiting, "mail that waited for the sign-in goes now");
    }
    Ok(true)
}

/// Whether the server `s` signs in with `source`'s sign-in.
fn signs_in_with(s: &crate::model::ServerSettings, source: &TokenSource) -> bool {
    match &s.auth {
        ServerAuth::OAuth2(o) => {
            o.token_file == source.settings().token_file && s.username == source.user()
        }
        ServerAuth::Password => false,
    }
}

/// What stops while `source` cannot sign in, in words.
fn affects(model: &Model, source: &TokenSource) -> String {
    let reads = model.mail.incoming == crate::model::Incoming::Imap
        && model
            .imap
            .as_ref()
            .is_some_and(|i| signs_in_with(&i.server, source));
    let sends = !mail_still_goes(model, source);
    match (reads, sends) {
        (true, true) => "replies are not read and no mail goes out".into(),
        (true, false) => "replies from your contractors are not read".into(),
        (false, true) => "no mail goes out".into(),
        (false, false) => "nothing uses it".into(),
    }
}

/// Whether a notice can still reach the owner by mail.
fn mail_still_goes(model: &Model, source: &TokenSource) -> bool {
    match model.mail.outgoing {
        Outgoing::Maildir => true,
        Outgoing::Smtp => !model
            .smtp
            .as_ref()
            .is_some_and(|s| signs_in_with(s, source)),
    }
}
