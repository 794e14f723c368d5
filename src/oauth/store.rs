//! The sign-in on disk: one JSON file per account (`token_file`), written
//! atomically with mode 0600, and the systemd credential `oauth` read beside
//! it.
//!
//! The file holds the refresh token (what `handoff login` obtained), the
//! latest access token and its expiry, the account, the scopes and when the
//! owner signed in. Every write goes to a temporary file in the same
//! directory (0600 from its creation, so the token is never readable by
//! anyone else, whatever the umask), is synced and renamed over the old
//! one: a crash leaves the old file or the new one, never half of either.
//!
//! Refreshing (in the daemon, in `run --once`, in `login --status`) holds
//! `<token_file>.lock` so two processes never use one rotating refresh token
//! at once (Microsoft's are single-use: the loser would read its answer as
//! "signed out").

use crate::model::Secret;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The file's format version; a later Handoff reads older ones.
const VERSION: u32 = 1;

/// What a sign-in holds, in memory (secrets never print).
#[derive(Debug, Clone)]
pub struct Tokens {
    pub provider: String,
    pub client_id: String,
    /// The address signed in.
    pub account: String,
    pub scopes: Vec<String>,
    /// When the owner signed in (`handoff login`): of two files, the later
    /// sign-in wins.
    pub signed_in_at: DateTime<Utc>,
    pub refresh_token: Secret,
    pub access: Option<Access>,
}

/// An access token and its lifetime.
#[derive(Debug, Clone)]
pub struct Access {
    pub token: Secret,
    pub obtained_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    version: u32,
    provider: String,
    client_id: String,
    account: String,
    scopes: Vec<String>,
    signed_in_at: DateTime<Utc>,
    refresh_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    obtained_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read the sign-in {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the sign-in {} is not a token file Handoff wrote ({detail}); run `handoff login` again", path.display())]
    Format { path: PathBuf, detail: String },
    #[error("cannot write the sign-in {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot lock {}: {source}", path.display())]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Reads one token file; `Ok(None)` when it does not exist.
pub fn read(path: &Path) -> Result<Option<Tokens>, StoreError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StoreError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let s: Stored = serde_json::from_str(&text).map_err(|e| StoreError::Format {
        path: path.to_path_buf(),
        // serde_json's message names line and column, never the content.
        detail: e.to_string(),
    })?;
    if s.version > VERSION || s.refresh_token.is_empty() {
        return Err(StoreError::Format {
            path: path.to_path_buf(),
            detail: format!("version {}, or no refresh token", s.version),
        });
    }
    let access = match (s.access_token, s.obtained_at, s.expires_at) {
        (Some(token), Some(obtained_at), Some(expires_at)) => Some(Access {
            token: Secret::new(token),
            obtained_at,
            expires_at,
        }),
        _ => None,
    };
    Ok(Some(Tokens {
        provider: s.provider,
        client_id: s.client_id,
        account: s.account,
        scopes: s.scopes,
        signed_in_at: s.signed_in_at,
        refresh_token: Secret::new(s.refresh_token),
        access,
    }))
}

/// The newer sign-in of the token file and the systemd credential (the
/// owner may have signed in again and handed the new one over as the
/// credential); `None` when neither exists.
pub fn read_newest(
    token_file: &Path,
    credential: Option<&Path>,
) -> Result<Option<Tokens>, StoreError> {
    let file = read(token_file)?;
    let cred = match credential {
        Some(c) => read(c)?,
        None => None,
    };
    Ok(match (file, cred) {
        (Some(f), Some(c)) if c.signed_in_at > f.signed_in_at => Some(c),
        (Some(f), _) => Some(f),
        (None, c) => c,
    })
}

/// Writes `tokens` to `path` atomically, mode 0600 (its directory created
/// 0700 if missing).
pub fn write(path: &Path, tokens: &Tokens) -> Result<(), StoreError> {
    let err = |source| StoreError::Write {
        path: path.to_path_buf(),
        source,
    };
    let stored = Stored {
        version: VERSION,
        provider: tokens.provider.clone(),
        client_id: tokens.client_id.clone(),
        account: tokens.account.clone(),
        scopes: tokens.scopes.clone(),
        signed_in_at: tokens.signed_in_at,
        refresh_token: tokens.refresh_token.expose().to_string(),
        access_token: tokens.access.as_ref().map(|a| a.token.expose().to_string()),
        obtained_at: tokens.access.as_ref().map(|a| a.obtained_at),
        expires_at: tokens.access.as_ref().map(|a| a.expires_at),
    };
    let mut bytes = serde_json::to_vec_pretty(&stored).map_err(|e| err(e.into()))?;
    bytes.push(b'\n');
    let dir = parent(path);
    create_private_dir(dir).map_err(err)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "oauth-token.json".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = private_file(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename itself on disk: a crash now keeps the new file.
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(err)
}

/// Held while one process refreshes the sign-in at `token_file`.
#[derive(Debug)]
pub struct RefreshLock {
    _file: std::fs::File,
}

/// Takes `<token_file>.lock`, waiting (without blocking the runtime) for
/// another process's refresh to finish, at most `within`.
pub async fn lock(token_file: &Path, within: Duration) -> Result<RefreshLock, StoreError> {
    let mut name = token_file.as_os_str().to_owned();
    name.push(".lock");
    let path = PathBuf::from(name);
    let err = |source| StoreError::Lock {
        path: path.clone(),
        source,
    };
    create_private_dir(parent(&path)).map_err(err)?;
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(&path).map_err(err)?;
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(RefreshLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "another Handoff process holds it",
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(err(e)),
        }
    }
}

fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(at: &str) -> Tokens {
        Tokens {
            provider: "custom".into(),
            client_id: "c".into(),
            account: "ada@example.test".into(),
            scopes: vec!["mail".into()],
            signed_in_at: at.parse().unwrap(),
            refresh_token: Secret::new("r-secret".into()),
            access: Some(Access {
                token: Secret::new("a-secret".into()),
                obtained_at: at.parse().unwrap(),
                expires_at: at.parse().unwrap(),
            }),
        }
    }

    #[test]
    fn a_written_sign_in_reads_back_private_and_the_newer_one_wins() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sub/oauth-token.json");
        write(&file, &tokens("2026-11-24T10:00:00Z")).unwrap();
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let back = read(&file).unwrap().unwrap();
        assert_eq!(back.refresh_token.expose(), "r-secret");
        assert_eq!(back.access.unwrap().token.expose(), "a-secret");
        assert!(
            !format!("{:?}", read(&file).unwrap()).contains("secret"),
            "Debug never shows a token"
        );

        let cred = dir.path().join("credential");
        write(&cred, &tokens("2026-11-25T10:00:00Z")).unwrap();
        let newest = read_newest(&file, Some(&cred)).unwrap().unwrap();
        assert_eq!(
            newest.signed_in_at.to_rfc3339(),
            "2026-11-25T10:00:00+00:00"
        );
        write(&file, &tokens("2026-11-26T10:00:00Z")).unwrap();
        let newest = read_newest(&file, Some(&cred)).unwrap().unwrap();
        assert_eq!(
            newest.signed_in_at.to_rfc3339(),
            "2026-11-26T10:00:00+00:00"
        );
        assert!(read(&dir.path().join("none")).unwrap().is_none());
        std::fs::write(&cred, "{not json").unwrap();
        let e = read(&cred).unwrap_err().to_string();
        assert!(e.contains("run `handoff login` again"), "{e}");
    }
}
