//! systemd/handoff.service passes systemd's own checks: `systemd-analyze
//! verify` is clean and `systemd-analyze security` rates its exposure at
//! 1.5 or less (the README quotes the figure).

use std::path::Path;
use std::process::Command;

const UNIT: &str = include_str!("../systemd/handoff.service");

/// The unit with ExecStart pointing at the binary under test (verify checks
/// that the executable exists).
fn unit_here(dir: &Path) -> std::path::PathBuf {
    let unit = UNIT.replace("/usr/local/bin/handoff", env!("CARGO_BIN_EXE_handoff"));
    assert_ne!(unit, UNIT, "ExecStart names /usr/local/bin/handoff");
    let path = dir.join("handoff.service");
    std::fs::write(&path, unit).unwrap();
    path
}

fn analyze(args: &[&str], unit: &Path) -> (bool, String, String) {
    let out = Command::new("systemd-analyze")
        .args(args)
        .arg(unit)
        .output()
        .expect("systemd-analyze (package systemd; tests/run installs it)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_unit_verifies_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_here(dir.path());
    let (ok, stdout, stderr) = analyze(&["verify"], &unit);
    assert!(ok, "{stdout}{stderr}");
    assert!(
        !stderr.contains("handoff.service"),
        "verify complains about the unit:\n{stderr}"
    );
}

#[test]
fn the_unit_exposure_is_at_most_1_5() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_here(dir.path());
    let (_, stdout, stderr) = analyze(&["security", "--offline=yes"], &unit);
    let line = stdout
        .lines()
        .find(|l| l.contains("Overall exposure level for handoff.service:"))
        .unwrap_or_else(|| panic!("no overall exposure in:\n{stdout}{stderr}"));
    let exposure: f64 = line
        .split(':')
        .nth(1)
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the exposure in {line:?}"));
    println!("systemd-analyze security --offline=yes: exposure {exposure}");
    assert!(exposure <= 1.5, "{line}\n{stdout}");
    for needed in [
        "Type=notify",
        "WatchdogSec=",
        "Restart=on-failure",
        "DynamicUser=yes",
        "StateDirectory=handoff",
        "ConfigurationDirectory=handoff",
        "LoadCredential=smtp:",
        "LoadCredential=imap:",
        "MemoryDenyWriteExecute=yes",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "SystemCallFilter=@system-service",
    ] {
        assert!(UNIT.lines().any(|l| l.starts_with(needed)), "{needed}");
    }
}
