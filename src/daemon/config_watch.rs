//! The config watcher: re-reads `handoff.toml` when it changes on disk or on
//! SIGHUP, and publishes it when it is good.
//!
//! The file's directory is watched (editors save by writing a new file and
//! renaming it over the old one, which a watch on the file itself would
//! lose), events are filtered by file name and settled for [`SETTLE`]
//! (an editor's save is several events). A file whose bytes did not change
//! is not reloaded; SIGHUP always reloads.
//!
//! A reload is checked the way `handoff check` checks (the config, then
//! every template rendered against it). On error the old config stays in
//! force, every problem is logged as `FILE:LINE:COL: …`, and the owner gets
//! one notice per distinct error text (`notice_config_error`, deduplicated by
//! its outbox key, so a restart does not repeat it either). On success the
//! new [`Current`] is published; the work loop wakes on it and its pass
//! reconciles (new milestones invited, changed ones updated, removed ones
//! cancelled).

use super::{Current, TaskContext};
use crate::config::{self, ConfigError};
use crate::outbox::Composer;
use crate::store::Store;
use crate::templates::Purpose;
use notify::{EventKind, RecursiveMode, Watcher};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// Quiet time after the last file event before the file is read.
pub const SETTLE: Duration = Duration::from_millis(100);

/// Runs until shutdown. `reload` is notified on SIGHUP.
pub async fn run(
    mut ctx: TaskContext,
    path: PathBuf,
    tx: watch::Sender<Arc<Current>>,
    reload: Arc<Notify>,
) {
    let changed = Arc::new(Notify::new());
    let _watcher = match watch(&path, changed.clone()) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(config = %path.display(), error = %e, "cannot watch the config file; send SIGHUP to reload it");
            ctx.liveness
                .degraded("config changes are read on SIGHUP only");
            None
        }
    };
    let mut last_text = std::fs::read(&path).ok();
    loop {
        let by_signal = tokio::select! {
            () = reload.notified() => true,
            () = changed.notified() => false,
            () = ctx.shutdown.recv() => return,
        };
        if !by_signal {
            // Let the editor finish: wait until events stop for SETTLE.
            loop {
                tokio::select! {
                    () = changed.notified() => {}
                    () = tokio::time::sleep(SETTLE) => break,
                    () = ctx.shutdown.recv() => return,
                }
            }
            let text = std::fs::read(&path).ok();
            if text == last_text {
                continue;
            }
            last_text = text;
        } else {
            last_text = std::fs::read(&path).ok();
        }
        ctx.liveness.busy();
        let old = tx.borrow().clone();
        match check(&path, &old, ctx.clock.now()) {
            Ok(current) => {
                tracing::info!(config = %path.display(), "config reloaded");
                for w in &current.loaded.warnings {
                    tracing::warn!("{w}");
                }
                // Err only when no task listens any more: stopping anyway.
                let _ = tx.send(Arc::new(current));
            }
            Err(problems) => {
                for p in &problems {
                    tracing::error!("{p}");
                }
                tracing::error!(
                    config = %path.display(),
                    "the config has errors; still running on the previous one"
                );
                tell_owner(&ctx, &old, &problems);
            }
        }
        ctx.liveness.idle();
    }
}

/// Reads and checks the config at `path` against the one in force; the
/// problems, one line each, if it cannot replace it.
pub fn check(
    path: &Path,
    old: &Current,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Current, Vec<String>> {
    let loaded = match config::load(path) {
        Ok(l) => l,
        Err(e @ ConfigError::Read { .. }) => return Err(vec![e.to_string()]),
        Err(ConfigError::Invalid { diagnostics, .. }) => {
            return Err(diagnostics
                .iter()
                .filter(|d| d.severity == config::Severity::Error)
                .map(ToString::to_string)
                .collect());
        }
    };
    // The lock and the open store belong to the old path: moving the store
    // is a restart, not a reload.
    if loaded.model.mail.state != old.loaded.model.mail.state {
        return Err(vec![format!(
            "{}: `state` changed from {} to {}; that takes a restart (systemctl restart handoff), the running daemon keeps the old store",
            path.display(),
            old.loaded.model.mail.state.display(),
            loaded.model.mail.state.display()
        )]);
    }
    // The watcher of replies is chosen at start (file notifications or IMAP).
    if loaded.model.mail.incoming != old.loaded.model.mail.incoming {
        return Err(vec![format!(
            "{}: `incoming` changed; that takes a restart (systemctl restart handoff), the running daemon keeps reading replies the old way",
            path.display()
        )]);
    }
    let current = Current::new(loaded).map_err(|e| vec![e.to_string()])?;
    let problems = crate::outbox::check::check_templates(&current.loaded.model, now);
    if problems.is_empty() {
        Ok(current)
    } else {
        Err(problems)
    }
}

/// Queues `notice_config_error` to the owner, once per distinct error text,
/// and wakes the work loop to send it.
fn tell_owner(ctx: &TaskContext, old: &Current, problems: &[String]) {
    let text = problems.join("\n");
    let mut hasher = std::hash::DefaultHasher::new();
    text.hash(&mut hasher);
    let key = format!("notice_config_error/{:016x}", hasher.finish());
    let model = &old.loaded.model;
    let outcome = (|| -> Result<bool, String> {
        let mut store = Store::open(&ctx.store_path).map_err(|e| e.to_string())?;
        if store
            .transaction(|tx| tx.outbox_has(&key))
            .map_err(|e| e.to_string())?
        {
            return Ok(false);
        }
        let composer = Composer {
            model,
            templates: &old.templates,
        };
        let extra = [
            ("config".to_string(), old.loaded.path.display().to_string()),
            ("errors".to_string(), text.clone()),
        ]
        .into_iter()
        .collect();
        let now = ctx.clock.now();
        let Some(mail) = composer
            .compose_system(Purpose::NoticeConfigError, key.clone(), extra, now)
            .map_err(|e| e.to_string())?
        else {
            return Ok(false);
        };
        store.enqueue(&mail, now).map_err(|e| e.to_string())?;
        Ok(true)
    })();
    match outcome {
        Ok(true) => {
            tracing::info!("the owner is told about the config errors");
            ctx.wake.wake();
        }
        Ok(false) => {}
        Err(e) => tracing::warn!(error = %e, "cannot queue the config-error notice"),
    }
}

/// Watches the directory of `path`, notifying `changed` for events on it.
fn watch(path: &Path, changed: Arc<Notify>) -> notify::Result<notify::RecommendedWatcher> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let name = path.file_name().map(|n| n.to_os_string());
    let mut watcher =
        notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
            Ok(event) => {
                let ours = event
                    .paths
                    .iter()
                    .any(|p| p.file_name().map(|n| n.to_os_string()) == name);
                if ours && !matches!(event.kind, EventKind::Access(_)) || ours_close(&event, &name)
                {
                    changed.notify_one();
                }
            }
            Err(_) => changed.notify_one(),
        })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    Ok(watcher)
}

/// A write to the file ends with CLOSE_WRITE (an Access event): that one
/// counts, opening and reading it (our own reload) do not.
fn ours_close(event: &notify::Event, name: &Option<std::ffi::OsString>) -> bool {
    use notify::event::{AccessKind, AccessMode};
    matches!(
        event.kind,
        EventKind::Access(AccessKind::Close(AccessMode::Write))
    ) && event
        .paths
        .iter()
        .any(|p| p.file_name().map(|n| n.to_os_string()) == *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339("2026-11-25T15:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc)
    }

    #[test]
    fn a_reload_is_checked_like_handoff_check_and_some_changes_need_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("handoff.toml");
        std::fs::write(&path, config::EXAMPLE).unwrap();
        let old = Current::new(config::load(&path).unwrap()).unwrap();

        let added = format!(
            "{}\n[[engagement.milestone]]\nid = \"copy\"\ntitle = \"Copy\"\ndue = 2026-12-20\n",
            config::EXAMPLE
        );
        std::fs::write(&path, &added).unwrap();
        let new = check(&path, &old, t()).unwrap();
        assert_eq!(new.loaded.model.engagements[0].milestones.len(), 3);

        let broken = config::EXAMPLE.replacen("title = \"Wireframes\"", "title = Wireframes", 1);
        let line = broken[..broken.find("title = Wireframes").unwrap()]
            .matches('\n')
            .count()
            + 1;
        std::fs::write(&path, &broken).unwrap();
        let problems = check(&path, &old, t()).err().unwrap();
        assert!(
            problems[0].starts_with(&format!("{}:{line}:", path.display())),
            "{problems:?}"
        );

        let moved =
            config::EXAMPLE.replacen("state = \"var/handoff.db\"", "state = \"var/other.db\"", 1);
        std::fs::write(&path, &moved).unwrap();
        let problems = check(&path, &old, t()).err().unwrap();
        assert!(problems[0].contains("takes a restart"), "{problems:?}");
    }
}
