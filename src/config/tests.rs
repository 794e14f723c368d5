//! Each rejection rule, checked for its message, line and column.

use super::*;

fn check(src: &str) -> Result<Loaded, Vec<Diagnostic>> {
    check_with(src, None)
}

fn check_with(src: &str, credentials: Option<&Path>) -> Result<Loaded, Vec<Diagnostic>> {
    let base = std::env::temp_dir();
    match parse(Path::new("handoff.toml"), src, &base, credentials) {
        Ok(l) => Ok(l),
        Err(ConfigError::Invalid { diagnostics, .. }) => Err(diagnostics),
        Err(e) => panic!("unexpected {e}"),
    }
}

/// The errors of a config that must fail, as "LINE:COL: message".
fn errors(src: &str) -> Vec<String> {
    match check(src) {
        Ok(_) => panic!("config was accepted:\n{src}"),
        Err(ds) => ds
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| format!("{}:{}: {}", d.line, d.column, d.message))
            .collect(),
    }
}

/// Line and 1-based column where `needle` starts in `src`.
fn at(src: &str, needle: &str) -> String {
    let offset = src
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in config"));
    let line = src[..offset].matches('\n').count() + 1;
    let col = src[..offset].rsplit('\n').next().unwrap().chars().count() + 1;
    format!("{line}:{col}")
}

fn example_with(from: &str, to: &str) -> String {
    assert!(EXAMPLE.contains(from), "{from:?} not in the example");
    EXAMPLE.replacen(from, to, 1)
}

fn assert_one_error(src: &str, needle: &str, message_part: &str) {
    let errs = errors(src);
    assert_eq!(errs.len(), 1, "expected one error, got {errs:#?}");
    let want = at(src, needle);
    assert!(
        errs[0].starts_with(&format!("{want}: ")),
        "error at wrong place: {errs:?}, expected {want}"
    );
    assert!(
        errs[0].contains(message_part),
        "message {:?} lacks {message_part:?}",
        errs[0]
    );
}

#[test]
fn the_shipped_example_passes_without_errors() {
    let loaded = check(EXAMPLE).expect("the example config must pass");
    assert_eq!(loaded.model.contractors.len(), 1);
    assert_eq!(loaded.model.engagements[0].milestones.len(), 2);
    assert!(
        loaded.warnings.is_empty(),
        "the example should be warning-free: {:?}",
        loaded.warnings
    );
}

#[test]
fn syntax_errors_name_the_place() {
    let src = example_with(
        "title = \"Company website redesign\"",
        "title = \"Company website redesign",
    );
    let errs = errors(&src);
    assert!(!errs.is_empty());
    assert!(errs[0].contains("expected valid TOML"), "{errs:?}");
    assert!(
        errs[0].starts_with(&at(&src, "title = \"Company website redesign")[..2]),
        "{errs:?}"
    );
}

#[test]
fn unknown_keys_are_reported_all_at_once() {
    let src = example_with(
        "email = \"dana@example.test\"",
        "emial = \"dana@example.test\"",
    )
    .replacen("recheck_every = \"90d\"", "recheck_evry = \"90d\"", 1);
    let errs = errors(&src);
    let unknown: Vec<_> = errs.iter().filter(|e| e.contains("unknown key")).collect();
    assert_eq!(unknown.len(), 2, "{errs:#?}");
    assert!(unknown[0].starts_with(&at(&src, "emial")));
    assert!(unknown[0].contains("did you mean `email`"));
    assert!(unknown[1].starts_with(&at(&src, "recheck_evry")));
    // The typo also leaves `email` missing, reported at the section header.
    assert!(
        errs.iter().any(|e| e.contains("is missing `email`")),
        "{errs:#?}"
    );
}

#[test]
fn missing_required_keys_point_at_the_section() {
    let src = example_with("timezone = \"Europe/Berlin\"", "");
    assert_one_error(&src, "[owner]", "[owner] is missing `timezone`");
}

#[test]
fn bad_addresses_are_rejected() {
    let src = example_with("\"dana@example.test\"", "\"dana.example.test\"");
    assert_one_error(&src, "\"dana.example.test\"", "is not an e-mail address");
}

#[test]
fn control_characters_in_header_values_are_rejected() {
    let src = example_with(
        "name = \"Dana Díaz\"",
        "name = \"Dana\\r\\nBcc: eve@example.test\"",
    );
    assert_one_error(&src, "\"Dana\\r", "control character U+000D");
    let src = example_with("title = \"Wireframes\"", "title = \"Wire\\nframes\"");
    assert_one_error(&src, "\"Wire\\n", "control character U+000A");
}

#[test]
fn unknown_time_zones_are_rejected_with_a_suggestion() {
    let src = example_with("\"America/New_York\"", "\"America/NewYork\"");
    assert_one_error(
        &src,
        "\"America/NewYork\"",
        "did you mean \"America/New_York\"",
    );
}

#[test]
fn bad_cron_lines_are_reported_against_the_owners_text() {
    let src = example_with("\"0 9 * * MON\"", "\"0 9 * *\"");
    assert_one_error(&src, "\"0 9 * *\"", "`0 9 * *` has 4 fields");
    let src = example_with("\"0 9 * * MON\"", "\"0 9 * * 8\"");
    assert_one_error(&src, "\"0 9 * * 8\"", "day-of-week `8`");
    let src = example_with("\"0 9 1 * *\"", "\"0 24 1 * *\"");
    assert_one_error(&src, "\"0 24 1 * *\"", "is not a valid crontab line");
}

#[test]
fn bad_periods_are_rejected() {
    let src = example_with(
        "recheck_after_delivery = \"7d\"",
        "recheck_after_delivery = \"7 days\"",
    );
    assert_one_error(&src, "\"7 days\"", "expected a period");
    let src = example_with("[\"3d\", \"1d\"]", "[\"3d\", \"1x\"]");
    assert_one_error(&src, "\"1x\"", "unknown unit `x`");
}

#[test]
fn dates_that_do_not_exist_are_rejected_as_toml_dates_and_strings() {
    let src = example_with("due = 2026-12-05", "due = 2026-02-30");
    let errs = errors(&src);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].starts_with(&at(&src, "2026-02-30")), "{errs:?}");
    let src = example_with("due = 2026-12-05", "due = \"2026-02-30\"");
    assert_one_error(&src, "\"2026-02-30\"", "not a date or time that exists");
    let src = example_with("starts = 2026-11-24", "starts = \"2026-11-31\"");
    assert_one_error(&src, "\"2026-11-31\"", "not a date that exists");
}

#[test]
fn a_time_in_the_dst_gap_is_rejected() {
    let src = example_with(
        "kickoff = 2026-11-25T15:00:00",
        "kickoff = 2027-03-28T02:30:00",
    );
    assert_one_error(
        &src,
        "2027-03-28T02:30:00",
        "does not exist in Europe/Berlin",
    );
}

#[test]
fn duplicate_ids_are_rejected() {
    let src = example_with("id = \"launch\"", "id = \"wireframes\"");
    let errs = errors(&src);
    assert_eq!(errs.len(), 1, "{errs:?}");
    let second = src.rfind("id = \"wireframes\"").unwrap() + 5;
    let line = src[..second].matches('\n').count() + 1;
    assert!(
        errs[0].starts_with(&format!("{line}:6: duplicate milestone id `wireframes`")),
        "{errs:?}"
    );

    let dup_contractor = EXAMPLE.replacen(
        "[[engagement]]",
        "[[contractor]]\nid = \"dana\"\nname = \"Other\"\nemail = \"o@example.test\"\n\n[[engagement]]",
        1,
    );
    let errs = errors(&dup_contractor);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].contains("duplicate contractor id `dana` (first defined at line"),
        "{errs:?}"
    );
}

#[test]
fn an_unknown_contractor_gets_the_nearest_id_suggested() {
    let src = example_with("contractor = \"dana\"", "contractor = \"dan\"");
    assert_one_error(&src, "\"dan\"", "did you mean `dana`?");
}

#[test]
fn an_unused_smtp_section_is_still_checked_whole() {
    let src = format!(
        "{EXAMPLE}\n[smtp]\nhost = \"smtp.example.test\"\nport = 70000\nusername = \"ada\"\n"
    );
    assert_one_error(&src, "70000", "expected a port number");
    // Its password file need not exist while the mode does not use it.
    let src = format!(
        "{EXAMPLE}\n[smtp]\nhost = \"smtp.example.test\"\nusername = \"ada\"\npassword_file = \"/nonexistent/smtp\"\n"
    );
    assert!(check(&src).is_ok());
}

#[test]
fn a_used_smtp_section_needs_a_readable_password_file() {
    let src = example_with("outgoing = \"maildir\"", "outgoing = \"smtp\"")
        + "\n[smtp]\nhost = \"smtp.example.test\"\nusername = \"ada\"\npassword_file = \"/nonexistent/smtp\"\n";
    assert_one_error(&src, "\"/nonexistent/smtp\"", "cannot be read");
}

#[test]
fn smtp_mode_without_an_smtp_section_is_rejected() {
    let src = example_with("outgoing = \"maildir\"", "outgoing = \"smtp\"");
    assert_one_error(&src, "\"smtp\"", "has no [smtp] section");
}

#[test]
fn a_systemd_credential_stands_in_for_the_password_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("smtp"), "secret\n").unwrap();
    let src = example_with("outgoing = \"maildir\"", "outgoing = \"smtp\"")
        + "\n[smtp]\nhost = \"smtp.example.test\"\nusername = \"ada\"\n";
    let loaded = check_with(&src, Some(dir.path())).expect("credential should satisfy the check");
    let smtp = loaded.model.smtp.unwrap();
    assert_eq!(smtp.read_password().unwrap().expose(), "secret");
    assert_eq!(smtp.port, 587);
}

#[test]
fn plaintext_to_a_remote_host_is_refused_unless_allowed() {
    let section = "\n[smtp]\nhost = \"smtp.example.test\"\ntls = \"none\"\nusername = \"ada\"\n";
    let src = format!("{EXAMPLE}{section}");
    assert_one_error(&src, "\"none\"\nusername", "in clear text");
    let src = format!("{EXAMPLE}{section}allow_plaintext = true\n");
    assert!(check(&src).is_ok());
    let src =
        format!("{EXAMPLE}\n[smtp]\nhost = \"127.0.0.1\"\ntls = \"none\"\nusername = \"ada\"\n");
    assert!(check(&src).is_ok(), "loopback needs no TLS");
}

#[test]
fn passwords_in_the_config_are_refused_and_not_echoed() {
    let src = format!(
        "{EXAMPLE}\n[smtp]\nhost = \"smtp.example.test\"\nusername = \"ada\"\npassword = \"hunter2\"\n"
    );
    let errs = errors(&src);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].starts_with(&at(&src, "\"hunter2\"")), "{errs:?}");
    assert!(errs[0].contains("must not stand in the config"));
    assert!(
        !errs[0].contains("hunter2"),
        "the password was echoed: {errs:?}"
    );
}

#[test]
fn wrong_types_say_what_was_expected() {
    let src = example_with(
        "max_reminders_per_day = 1",
        "max_reminders_per_day = \"one\"",
    );
    assert_one_error(&src, "\"one\"", "is a string; expected a whole number");
}

#[test]
fn warnings_do_not_fail_the_check() {
    let src = example_with("\"0 10 1 */6 *\"", "\"0 10 29 2 *\"").replacen(
        "due = 2026-12-05",
        "due = 2026-11-20",
        1,
    );
    let loaded = check(&src).expect("warnings only");
    let w: Vec<String> = loaded.warnings.iter().map(|d| d.to_string()).collect();
    assert_eq!(w.len(), 2, "{w:#?}");
    assert!(
        w.iter().any(|w| w.contains("less often than once a year")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.contains("due before the engagement starts")),
        "{w:?}"
    );
    assert!(w[0].starts_with("handoff.toml:"), "{w:?}");
}

#[test]
fn an_engagement_without_milestones_is_a_warning() {
    let cut = EXAMPLE.find("[[engagement.milestone]]").unwrap();
    let loaded = check(&EXAMPLE[..cut]).expect("warnings only");
    assert_eq!(loaded.warnings.len(), 1);
    assert!(loaded.warnings[0].message.contains("has no milestones"));
}

#[test]
fn dates_and_times_land_in_the_owners_zone() {
    let m = check(EXAMPLE).unwrap().model;
    let e = &m.engagements[0];
    // 2026-12-05 end of day in Berlin (CET, UTC+1).
    assert_eq!(
        e.milestones[0].due.to_rfc3339(),
        "2026-12-05T22:59:59+00:00"
    );
    assert_eq!(e.kickoff.unwrap().to_rfc3339(), "2026-11-25T14:00:00+00:00");
    // Status reports run in the contractor's zone (New York).
    let next = crate::schedule::occurrence::next_after(
        e.status_reports.as_ref().unwrap(),
        e.kickoff.unwrap(),
    )
    .unwrap();
    assert_eq!(next.to_rfc3339(), "2026-11-30T14:00:00+00:00");
}

#[test]
fn all_problems_come_in_one_run() {
    let src = example_with("\"dana@example.test\"", "\"not-an-address\"")
        .replacen("\"America/New_York\"", "\"Mars/Olympus\"", 1)
        .replacen("\"0 9 * * MON\"", "\"every monday\"", 1);
    assert_eq!(errors(&src).len(), 3);
}

#[test]
fn a_word_outside_the_allowed_ones_lists_them() {
    let src = example_with("outgoing = \"maildir\"", "outgoing = \"smpt\"");
    assert_one_error(
        &src,
        "\"smpt\"",
        "`outgoing` in [mail] is \"smpt\"; expected \"smtp\" or \"maildir\"",
    );
    let src = format!(
        "{EXAMPLE}\n[smtp]\nhost = \"smtp.example.test\"\ntls = \"ssl\"\nusername = \"ada\"\n"
    );
    assert_one_error(
        &src,
        "\"ssl\"",
        "`tls` in [smtp] is \"ssl\"; expected \"tls\", \"starttls\" or \"none\"",
    );
}

#[test]
fn a_budget_reads_exactly_or_is_an_error_at_its_value() {
    let loaded = check(EXAMPLE).unwrap();
    let b = loaded.model.engagements[0].budget.clone().unwrap();
    assert_eq!((b.cents, b.currency.as_str()), (600_000, "EUR"));
    let src = example_with("budget = \"6000 EUR\"", "budget = \"6000,50 EUR\"");
    assert_one_error(&src, "\"6000,50 EUR\"", "`budget` in engagement");
    let src = example_with("budget = \"6000 EUR\"", "budget = \"6000\"");
    assert_one_error(&src, "\"6000\"", "has no currency");
    let src = example_with("budget = \"6000 EUR\"", "");
    assert!(check(&src).unwrap().model.engagements[0].budget.is_none());
}

#[test]
fn schedule_policy_keys_are_read_with_their_defaults() {
    let p = check(EXAMPLE).unwrap().model.policy;
    assert_eq!(p.escalate_after, chrono::TimeDelta::days(3));
    assert_eq!(p.payment_followup_after, chrono::TimeDelta::days(7));
    assert_eq!(p.answer_within, chrono::TimeDelta::hours(24));
    assert_eq!(p.catch_up_horizon, chrono::TimeDelta::days(7));
    let digest = p.digest.expect("a digest by default");
    assert_eq!(digest.crontab, "0 8 * * MON");
    assert_eq!(
        digest.timezone,
        chrono_tz::Europe::Berlin,
        "the owner's zone"
    );
    // Without a [policy] section at all, the same defaults.
    let start = EXAMPLE.find("[policy]").unwrap();
    let end = EXAMPLE[start..].find("\n[[").unwrap() + start;
    let bare = format!("{}{}", &EXAMPLE[..start], &EXAMPLE[end..]);
    let p = check(&bare).unwrap().model.policy;
    assert_eq!(p.escalate_after, chrono::TimeDelta::days(3));
    assert_eq!(p.digest.unwrap().crontab, "0 8 * * MON");
    // Set, and switched off.
    let src = example_with("escalate_after = \"3d\"", "escalate_after = \"1w\"");
    let src = src.replacen("digest = \"0 8 * * MON\"", "digest = \"off\"", 1);
    let p = check(&src).unwrap().model.policy;
    assert_eq!(p.escalate_after, chrono::TimeDelta::days(7));
    assert!(p.digest.is_none());
}

#[test]
fn bad_schedule_policy_values_name_the_place() {
    let src = example_with("answer_within = \"24h\"", "answer_within = \"a day\"");
    assert_one_error(&src, "\"a day\"", "`answer_within` in [policy]");
    let src = example_with("catch_up_horizon = \"7d\"", "catch_up_horizon = \"0d\"");
    assert_one_error(&src, "\"0d\"", "is zero");
    let src = example_with("digest = \"0 8 * * MON\"", "digest = \"0 8 * MON\"");
    assert_one_error(&src, "\"0 8 * MON\"", "`digest` in [policy]");
    let src = example_with("escalate_after", "escalate_afterr");
    assert_one_error(&src, "escalate_afterr", "unknown key `escalate_afterr`");
}

#[test]
fn owner_notices_is_immediate_or_digest() {
    let p = check(EXAMPLE).unwrap().model.policy;
    assert_eq!(p.owner_notices, crate::model::OwnerNotices::Immediate);
    let src = example_with(
        "owner_notices = \"immediate\"",
        "owner_notices = \"digest\"",
    );
    assert_eq!(
        check(&src).unwrap().model.policy.owner_notices,
        crate::model::OwnerNotices::Digest
    );
    let src = example_with(
        "owner_notices = \"immediate\"",
        "owner_notices = \"weekly\"",
    );
    assert_one_error(&src, "\"weekly\"", "owner_notices");
}

/// The example's local mode swapped for a preset with an `[oauth]`.
fn preset(provider: &str, oauth: &str) -> String {
    example_with(
        "outgoing = \"maildir\"                   # \"smtp\" | \"maildir\" (each mail written as an .eml file)\nincoming = \"maildir\"",
        &format!("provider = \"{provider}\"\n{oauth}#"),
    )
}

#[test]
fn a_preset_fills_the_servers_and_oauth_signs_both_in() {
    let src = preset("gmail", "");
    let src = src.replacen(
        "[policy]",
        "[oauth]\nclient_id = \"abc.apps.googleusercontent.com\"\n\n[policy]",
        1,
    );
    let loaded = check(&src).expect("a preset config loads");
    let m = &loaded.model;
    assert_eq!(m.mail.outgoing, crate::model::Outgoing::Smtp);
    let imap = m.imap.as_ref().unwrap();
    assert_eq!(
        (imap.server.host.as_str(), imap.server.port),
        ("imap.gmail.com", 993)
    );
    assert_eq!(imap.sent_mailbox, "[Gmail]/Sent Mail");
    assert!(imap.server_files_sent);
    assert_eq!(
        imap.server.username, "ada@example.test",
        "the owner's address"
    );
    let smtp = m.smtp.as_ref().unwrap();
    assert_eq!(
        (smtp.host.as_str(), smtp.port, smtp.tls),
        ("smtp.gmail.com", 465, crate::model::TlsMode::Tls)
    );
    let crate::model::ServerAuth::OAuth2(o) = &smtp.auth else {
        panic!("an [oauth] makes oauth2 the default");
    };
    assert_eq!(o.provider, crate::model::OAuthProvider::Google);
    assert_eq!(o.scopes, ["https://mail.google.com/"]);
    assert!(o.device_url.is_none(), "Google has no device flow for mail");
    assert!(o.token_file.ends_with("var/oauth-token.json"));
    // No sign-in yet: a warning with the line of [smtp]'s stand-in... and the command.
    let warning = loaded
        .warnings
        .iter()
        .find(|w| w.message.contains("no sign-in is stored yet"))
        .expect("a warning says what to run");
    assert!(
        warning
            .message
            .contains("run `handoff login --config handoff.toml`"),
        "{warning}"
    );
}

#[test]
fn explicit_keys_win_over_the_preset() {
    let src = preset("microsoft365", "")
        + "\n[imap]\nhost = \"imap.example.test\"\nsent_mailbox = \"Gesendete Elemente\"\nauth = \"oauth2\"\n\n[smtp.oauth]\nclient_id = \"x\"\ntenant = \"contoso.onmicrosoft.com\"\n\n[oauth]\nclient_id = \"y\"\n";
    let loaded = check(&src).expect("loads");
    let imap = loaded.model.imap.as_ref().unwrap();
    assert_eq!(
        (imap.server.host.as_str(), imap.server.port),
        ("imap.example.test", 993)
    );
    assert_eq!(imap.sent_mailbox, "Gesendete Elemente");
    let crate::model::ServerAuth::OAuth2(o) = &loaded.model.smtp.as_ref().unwrap().auth else {
        panic!("smtp on oauth2");
    };
    assert_eq!(o.client_id, "x");
    assert!(
        o.token_url
            .starts_with("https://login.microsoftonline.com/contoso.onmicrosoft.com/")
    );
    assert!(o.token_file.ends_with("var/oauth-token-smtp.json"));
}

#[test]
fn oauth_mistakes_are_named_with_line_and_column() {
    let src = preset("gmaill", "");
    assert_one_error(&src, "\"gmaill\"", "expected one of \"gmail\"");
    let base = example_with(
        "[policy]",
        "[smtp]\nhost = \"h\"\nusername = \"u\"\nauth = \"oauth2\"\n\n[policy]",
    );
    assert_one_error(
        &base,
        "\"oauth2\"\n\n[policy]",
        "but the config has no [oauth] section",
    );
    let custom = base.replacen(
        "[policy]",
        "[oauth]\nprovider = \"custom\"\nclient_id = \"c\"\nauth_url = \"http://idp.example.test/a\"\ntoken_url = \"https://idp.example.test/t\"\nscopes = [\"mail\"]\n\n[policy]",
        1,
    );
    assert_one_error(&custom, "\"http://idp.example.test/a\"", "in clear text");
    let no_id = base.replacen("[policy]", "[oauth]\nprovider = \"google\"\n\n[policy]", 1);
    assert_one_error(&no_id, "[oauth]\nprovider", "is missing `client_id`");
}
