//! The local inbox watcher (`incoming = "maildir"`): wakes the work loop
//! when a mail lands in `<maildir>/inbox/new`; the pass then reads it
//! (`inbox::maildir::scan`).
//!
//! Woken by inotify (through the `notify` crate): a mail delivered the
//! Maildir way (written in `tmp/`, renamed into `new/`) is a `MOVED_TO`; one
//! copied straight into `new/` is woken on `CLOSE_WRITE`, once it is whole,
//! not on its `CREATE`, when it may still be empty. Our own move of a read
//! mail to `cur/` (a `MOVED_FROM`) is no news. If the watch cannot be set up
//! (no inotify, out of watches), the watcher polls instead, every
//! [`POLL_EVERY`], and says so in the log and in systemd's STATUS.
//!
//! The first pass after start reads whatever arrived while the daemon was
//! down, so the watcher only has to report what arrives after it.

use super::{TaskContext, Wake};
use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RenameMode};
use notify::{Event, EventKind, RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The polling interval of the fallback.
pub const POLL_EVERY: Duration = Duration::from_secs(5);

/// Runs until shutdown.
pub async fn run(mut ctx: TaskContext) {
    loop {
        let dir = new_dir(&ctx);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot create the local inbox");
        }
        match watch(&dir, ctx.wake.clone()) {
            Ok(watcher) => {
                tracing::info!(dir = %dir.display(), "watching the local inbox");
                ctx.liveness.idle();
                let reason = wait(&mut ctx, &dir, None).await;
                drop(watcher);
                if reason == Stop::Shutdown {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot watch the local inbox; polling every {} s", POLL_EVERY.as_secs());
                ctx.liveness.degraded(format!(
                    "polling the local inbox every {} s",
                    POLL_EVERY.as_secs()
                ));
                if wait(&mut ctx, &dir, Some(POLL_EVERY)).await == Stop::Shutdown {
                    return;
                }
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Stop {
    Shutdown,
    /// The config moved the inbox: watch the new place.
    Moved,
}

/// Waits for shutdown or a config that moves the inbox; with `poll`, wakes
/// the work loop every `poll` meanwhile.
async fn wait(ctx: &mut TaskContext, dir: &Path, poll: Option<Duration>) -> Stop {
    loop {
        let tick = async {
            match poll {
                Some(every) => tokio::time::sleep(every).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = tick => ctx.wake.wake(),
            changed = ctx.config.changed() => {
                if changed.is_err() {
                    return Stop::Shutdown;
                }
                if new_dir(ctx) != dir {
                    return Stop::Moved;
                }
            }
            () = ctx.shutdown.recv() => return Stop::Shutdown,
        }
    }
}

fn new_dir(ctx: &TaskContext) -> PathBuf {
    ctx.config
        .borrow()
        .loaded
        .model
        .mail
        .maildir
        .join("inbox")
        .join("new")
}

/// Starts a watch on `dir` that wakes `wake` for every mail landing there.
/// The watcher runs its own thread; dropping it ends the watch.
fn watch(dir: &Path, wake: Wake) -> notify::Result<notify::RecommendedWatcher> {
    let mut watcher =
        notify::recommended_watcher(move |event: notify::Result<Event>| match event {
            Ok(event) if is_arrival(&event) => wake.wake(),
            Ok(_) => {}
            // A lost event (queue overflow) may hide a mail: look anyway.
            Err(e) => {
                tracing::warn!(error = %e, "inbox watch error; scanning anyway");
                wake.wake();
            }
        })?;
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
    Ok(watcher)
}

/// Whether an event means a whole mail may now be in `new/`.
fn is_arrival(event: &Event) -> bool {
    match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Modify(ModifyKind::Name(
            RenameMode::To | RenameMode::Both | RenameMode::Any,
        )) => true,
        // A hard link (`ln`, some MDAs) arrives whole; a new empty file is
        // still being written and will be followed by CLOSE_WRITE.
        EventKind::Create(CreateKind::File | CreateKind::Any) => event
            .paths
            .iter()
            .any(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0)),
        // Overflow and rescan hints: look.
        EventKind::Other => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_mail_renamed_into_new_wakes_and_a_move_out_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new");
        let tmp = dir.path().join("tmp");
        let cur = dir.path().join("cur");
        for d in [&new, &tmp, &cur] {
            std::fs::create_dir_all(d).unwrap();
        }
        let wake = Wake::default();
        let _watcher = watch(&new, wake.clone()).unwrap();
        std::fs::write(tmp.join("m1"), b"Subject: hi\r\n\r\nbody").unwrap();
        std::fs::rename(tmp.join("m1"), new.join("m1")).unwrap();
        tokio::time::timeout(Duration::from_secs(10), wake.woken())
            .await
            .expect("a rename into new/ wakes the work loop");
        std::fs::rename(new.join("m1"), cur.join("m1:2,S")).unwrap();
        assert!(
            tokio::time::timeout(Duration::from_millis(300), wake.woken())
                .await
                .is_err(),
            "moving a read mail to cur/ is not an arrival"
        );
        std::fs::write(new.join("m2"), b"Subject: hi\r\n\r\nbody").unwrap();
        tokio::time::timeout(Duration::from_secs(10), wake.woken())
            .await
            .expect("a file written into new/ wakes once closed");
    }
}
