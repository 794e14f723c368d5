//! Raw bytes → the inbound pipeline (`handoff::inbox::Inbox::ingest`: parse
//! → dedupe → match → classify → record) on an in-memory store where the
//! example config's instructions and invitations went out: never a panic,
//! never an error, always an outcome. The same property runs bounded in CI
//! as tests/fuzz.rs. Seed the corpus with tests/fixtures/inbox/*.eml.
#![no_main]

use handoff::inbox::{Inbox, Source};
use handoff::model::Model;
use handoff::outbox::{Composer, Transport};
use handoff::store::Store;
use handoff::templates::Templates;
use libfuzzer_sys::fuzz_target;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

const EXAMPLE: &str = include_str!("../../config/handoff.toml");

struct Owner {
    model: Model,
    templates: Templates,
    store: Mutex<Store>,
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-11-24T13:00:00Z")
        .expect("a fixed instant")
        .to_utc()
}

/// The example config, local mode in a scratch directory, one pass done.
fn owner() -> &'static Owner {
    static OWNER: OnceLock<Owner> = OnceLock::new();
    OWNER.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("handoff-fuzz-inbound-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        let model = handoff::config::parse(&dir.join("handoff.toml"), EXAMPLE, &dir, None)
            .expect("the example config loads")
            .model;
        let templates = Templates::load(None).expect("the built-in templates");
        let mut store = Store::open_in_memory().expect("an in-memory store");
        let transport = Transport::from_model(&model).expect("the local outgoing folder");
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(handoff::pass::run_once(
                &model,
                &templates,
                &mut store,
                &transport,
                now(),
            ))
            .expect("one pass");
        Owner {
            model,
            templates,
            store: Mutex::new(store),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    static UID: AtomicU32 = AtomicU32::new(1);
    let o = owner();
    let composer = Composer {
        model: &o.model,
        templates: &o.templates,
    };
    let inbox = Inbox {
        model: &o.model,
        composer: &composer,
    };
    let mut store = o.store.lock().unwrap_or_else(|e| e.into_inner());
    let source = Source {
        account: "fuzz".into(),
        uid_validity: 1,
        uid: UID.fetch_add(1, Ordering::Relaxed),
        truncated: false,
    };
    let outcome = inbox
        .ingest(&mut store, data, &source, now(), false)
        .unwrap_or_else(|e| panic!("the pipeline failed: {e}"));
    assert!(!outcome.kind.is_empty());
});
