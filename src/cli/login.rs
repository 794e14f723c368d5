//! `handoff login`: signing Handoff in to an OAuth 2.0 mail account, from
//! the owner's terminal (see [`crate::oauth::login`] for the flows), and
//! `handoff login --status`: what is stored.

use super::{EXIT_OK, EXIT_RUNTIME, EXIT_USAGE};
use crate::config::Loaded;
use crate::model::{ServerAuth, ServerSettings};
use crate::oauth::login::{self, Prompt};
use crate::oauth::store;
use chrono::Utc;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

/// What `handoff login` was asked.
pub(super) struct LoginArgs {
    pub device: bool,
    pub status: bool,
    pub account: Option<String>,
    pub output: Option<PathBuf>,
}

/// One sign-in of the config: the sections that use it and its settings.
struct Target {
    sections: Vec<&'static str>,
    user: String,
    settings: Arc<crate::model::OAuthSettings>,
}

fn targets(loaded: &Loaded) -> Vec<Target> {
    let m = &loaded.model;
    let servers: [(&'static str, Option<&ServerSettings>); 2] = [
        ("imap", m.imap.as_ref().map(|i| &i.server)),
        ("smtp", m.smtp.as_ref()),
    ];
    let mut out: Vec<Target> = Vec::new();
    for (name, s) in servers {
        let Some(s) = s else { continue };
        let ServerAuth::OAuth2(o) = &s.auth else {
            continue;
        };
        match out
            .iter_mut()
            .find(|t| t.settings.token_file == o.token_file && t.user == s.username)
        {
            Some(t) => t.sections.push(name),
            None => out.push(Target {
                sections: vec![name],
                user: s.username.clone(),
                settings: o.clone(),
            }),
        }
    }
    out
}

pub(super) fn login(loaded: &Loaded, args: LoginArgs) -> u8 {
    let all = targets(loaded);
    if all.is_empty() {
        eprintln!(
            "handoff login: no account in {} signs in with OAuth 2.0; set auth = \"oauth2\" in [imap] or [smtp] and add an [oauth] section (README: \"Gmail and Microsoft 365\")",
            loaded.path.display()
        );
        return EXIT_USAGE;
    }
    let chosen: Vec<&Target> = match &args.account {
        Some(a) => all
            .iter()
            .filter(|t| t.sections.iter().any(|s| s == a) || &t.user == a)
            .collect(),
        None => all.iter().collect(),
    };
    if chosen.is_empty() {
        eprintln!(
            "handoff login: no OAuth 2.0 account `{}`; expected imap, smtp or one of: {}",
            args.account.as_deref().unwrap_or_default(),
            all.iter()
                .map(|t| t.user.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return EXIT_USAGE;
    }
    if args.status {
        for t in &chosen {
            print_status(t);
        }
        return EXIT_OK;
    }
    if chosen.len() > 1 {
        eprintln!(
            "handoff login: [imap] and [smtp] sign in separately; run `handoff login --account imap` and `handoff login --account smtp`"
        );
        return EXIT_USAGE;
    }
    let target = chosen[0];
    let mut settings = (*target.settings).clone();
    if let Some(out) = &args.output {
        settings.token_file = out.clone();
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("handoff login: starting the async runtime: {e}");
            return EXIT_RUNTIME;
        }
    };
    let user = target.user.clone();
    let outcome = runtime.block_on(async {
        if args.device {
            login::by_device(&settings, &user, |p| prompt(&p, &user)).await
        } else {
            login::by_code(&settings, &user, |p| prompt(&p, &user)).await
        }
    });
    match outcome {
        Ok(tokens) => {
            println!(
                "Signed in as {} ({}); the sign-in is in {} (mode 0600).",
                tokens.account,
                target.sections.join(" and "),
                settings.token_file.display()
            );
            if args.output.is_some() {
                println!(
                    "Hand it to the service as its systemd credential `oauth` (LoadCredential=oauth:{}) and restart it.",
                    settings.token_file.display()
                );
            } else {
                println!("A running `handoff run` picks it up by itself.");
            }
            EXIT_OK
        }
        Err(e) => {
            eprintln!("handoff login: {e}");
            EXIT_RUNTIME
        }
    }
}

/// Tells the owner what to do; printed on standard output, flushed, one
/// thing per line (the URL alone on its line, for scripts and tests).
fn prompt(p: &Prompt, user: &str) {
    let mut out = std::io::stdout().lock();
    let _ = match p {
        Prompt::OpenUrl { url, port } => writeln!(
            out,
            "Open this address in a browser and sign in as {user}:\n\n{url}\n\n\
             Waiting for the browser to come back to port {port} of this machine (at most {} minutes).\n\
             On a server without a browser: from your computer run\n  ssh -L {port}:127.0.0.1:{port} <this server>\n\
             and open the address in your computer's browser.",
            login::WAIT_FOR_BROWSER.as_secs() / 60
        ),
        Prompt::EnterCode {
            verification_uri,
            user_code,
            complete,
            expires_in,
        } => writeln!(
            out,
            "On any device, open {verification_uri} and enter the code\n\n{user_code}\n\n\
             then sign in as {user}{}. Waiting (the code is good for {} minutes).",
            complete
                .as_deref()
                .map_or(String::new(), |c| format!(" (or open {c})")),
            expires_in.as_secs() / 60
        ),
    };
    let _ = out.flush();
}

fn print_status(t: &Target) {
    let s = &t.settings;
    println!("account:    {} ({})", t.user, t.sections.join(", "));
    println!(
        "provider:   {} (client {})",
        s.provider.as_str(),
        s.client_id
    );
    println!("token file: {}", s.token_file.display());
    match store::read_newest(&s.token_file, s.credential.as_deref()) {
        Ok(Some(tokens)) => {
            println!("signed in:  {}", tokens.signed_in_at.to_rfc3339());
            println!("scopes:     {}", tokens.scopes.join(" "));
            match &tokens.access {
                Some(a) if a.expires_at > Utc::now() => println!(
                    "access:     valid until {} (refreshed by itself before then)",
                    a.expires_at.to_rfc3339()
                ),
                Some(a) => println!(
                    "access:     expired at {} (refreshed at the next connection)",
                    a.expires_at.to_rfc3339()
                ),
                None => println!("access:     none yet (fetched at the next connection)"),
            }
            println!("refresh:    stored");
        }
        Ok(None) => println!("signed in:  no; run `handoff login`"),
        Err(e) => println!("signed in:  unreadable ({e})"),
    }
}
