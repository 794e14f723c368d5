//! The mail templates: one `NAME.txt` (a `Subject:` line, a blank line, the
//! plain-text body) and one `NAME.html` per [`Purpose`], rendered with
//! minijinja in strict-undefined mode so a misspelt variable is an error that
//! `handoff check` reports, never a blank in someone's inbox.
//!
//! The files in `templates/` are compiled into the binary as the defaults; an
//! owner overrides one by putting a file of the same name into the directory
//! `[mail] templates_dir` names. This module knows nothing of the config or the
//! store: it renders a serialisable context it is given (see
//! [`crate::outbox::compose`], which builds contexts from the model).
//!
//! It stands at the bottom of the flow and must not import any other module
//! of Handoff.

mod defaults;
pub mod lang;
mod purpose;
mod words;

pub use lang::{Base, Lang};
pub use purpose::Purpose;
pub use words::{Reader, Shape, local_date, local_time};

use defaults::DEFAULTS;
use minijinja::{Environment, UndefinedBehavior, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read template {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A template does not parse or does not render; `name` is the file,
    /// `detail` minijinja's account with the line.
    #[error("template {name}: {detail}")]
    Render { name: String, detail: String },
    #[error("template {name} does not start with a `Subject:` line followed by a blank line")]
    NoSubject { name: String },
    #[error("template {name} renders a subject with a line break")]
    SubjectLineBreak { name: String },
}

fn render_error(name: &str, e: &minijinja::Error) -> TemplateError {
    let mut detail = e.to_string();
    if let Some(line) = e.line() {
        detail = format!("line {line}: {detail}");
    }
    TemplateError::Render {
        name: name.to_string(),
        detail,
    }
}

/// A rendered mail: what the message builder needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// One language's templates, compiled: each name resolved to the file that
/// serves it, and where that file came from.
struct LangEnv {
    env: Environment<'static>,
    /// Template name → the file that serves it in this language
    /// ("de/kickoff.txt", or "en/kickoff.txt" where German has none).
    origin: BTreeMap<String, String>,
}

/// The loaded templates: the defaults of every shipped language plus the
/// owner's files. A language is compiled the first time a mail is written in
/// it, so a daemon holds only the languages its people read.
pub struct Templates {
    /// The owner's files by path under `templates_dir` ("de/kickoff.txt").
    owner: BTreeMap<String, String>,
    /// Per shipped language, in [`Base::ALL`] order.
    langs: Vec<OnceLock<Result<LangEnv, (String, String)>>>,
}

impl Templates {
    /// The defaults, with the owner's files in `dir` taking their place:
    /// `dir/<lang>/NAME` for that language (`dir/NAME`, the layout before
    /// languages, counts as English). English is compiled at once, so a
    /// broken file shows here; the other languages when first used.
    pub fn load(dir: Option<&Path>) -> Result<Templates, TemplateError> {
        let mut owner = BTreeMap::new();
        if let Some(dir) = dir {
            // Every name English has, in every language: an owner may also
            // translate a template no shipped language has yet.
            for (en_name, _) in DEFAULTS.iter().filter(|(n, _)| n.starts_with("en/")) {
                let file = &en_name[3..];
                for base in Base::ALL {
                    let mut candidates = vec![dir.join(base.code()).join(file)];
                    if *base == Base::En {
                        candidates.push(dir.join(file));
                    }
                    if let Some(path) = candidates.into_iter().find(|p| p.is_file()) {
                        let source = std::fs::read_to_string(&path)
                            .map_err(|source| TemplateError::Read { path, source })?;
                        owner.insert(format!("{}/{file}", base.code()), source);
                    }
                }
            }
        }
        let t = Templates {
            owner,
            langs: Base::ALL.iter().map(|_| OnceLock::new()).collect(),
        };
        t.env(Base::En)?;
        Ok(t)
    }

    /// The owner's files in use, by path under `templates_dir`
    /// ("de/kickoff.txt").
    pub fn overridden(&self) -> Vec<String> {
        self.owner.keys().cloned().collect()
    }

    /// Whether Handoff ships `file` ("kickoff.txt") in `base`'s own folder.
    pub fn ships(base: Base, file: &str) -> bool {
        let rel = format!("{}/{file}", base.code());
        DEFAULTS.iter().any(|(n, _)| *n == rel)
    }

    fn env(&self, base: Base) -> Result<&LangEnv, TemplateError> {
        let i = Base::ALL.iter().position(|b| *b == base).unwrap_or(0);
        // `langs` has one cell per `Base::ALL` entry (built so in `load`).
        let cell = &self.langs[i];
        cell.get_or_init(|| self.compile(base))
            .as_ref()
            .map_err(|(name, detail)| TemplateError::Render {
                name: name.clone(),
                detail: detail.clone(),
            })
    }

    /// Every template name in `base`'s language: the language's own file
    /// (the owner's, else the shipped one), else English's (the owner's,
    /// else the shipped one).
    fn compile(&self, base: Base) -> Result<LangEnv, (String, String)> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Auto-escaping stays minijinja's default: HTML-escape in `.html`
        // templates only, since mail text is not HTML.
        let mut origin = BTreeMap::new();
        let shipped = |rel: &str| DEFAULTS.iter().find(|(n, _)| *n == rel).map(|(_, s)| *s);
        for (en_name, _) in DEFAULTS.iter().filter(|(n, _)| n.starts_with("en/")) {
            let file = &en_name[3..];
            let own = format!("{}/{file}", base.code());
            let (rel, source) = [own.as_str(), en_name]
                .into_iter()
                .find_map(|rel| {
                    self.owner
                        .get(rel)
                        .map(|s| (rel, s.as_str()))
                        .or_else(|| shipped(rel).map(|s| (rel, s)))
                })
                .unwrap_or((en_name, ""));
            env.add_template_owned(file.to_string(), source.to_string())
                .map_err(|e| match render_error(rel, &e) {
                    TemplateError::Render { name, detail } => (name, detail),
                    other => (rel.to_string(), other.to_string()),
                })?;
            origin.insert(file.to_string(), rel.to_string());
        }
        Ok(LangEnv { env, origin })
    }

    /// Renders one purpose in English against `ctx`.
    pub fn render(&self, purpose: Purpose, ctx: &Value) -> Result<Rendered, TemplateError> {
        self.render_in(&Lang::default(), purpose, ctx)
    }

    /// Renders one purpose in `lang` against `ctx` (which gains `lang`, the
    /// tag, for `<html lang>`).
    pub fn render_in(
        &self,
        lang: &Lang,
        purpose: Purpose,
        ctx: &Value,
    ) -> Result<Rendered, TemplateError> {
        let le = self.env(lang.base())?;
        let ctx = minijinja::context! { lang => lang.tag(), ..ctx.clone() };
        let txt = format!("{purpose}.txt");
        let named = |file: &str| le.origin.get(file).cloned().unwrap_or(file.to_string());
        let full = le
            .env
            .get_template(&txt)
            .and_then(|t| t.render(&ctx))
            .map_err(|e| render_error(&named(&txt), &e))?;
        let txt = named(&txt);
        let (first, body) = full
            .split_once('\n')
            .ok_or_else(|| TemplateError::NoSubject { name: txt.clone() })?;
        let subject = first
            .strip_prefix("Subject:")
            .ok_or_else(|| TemplateError::NoSubject { name: txt.clone() })?
            .trim()
            .to_string();
        // A blank line separates the subject from the body (a comment line
        // rendered empty counts as blank).
        let body = match body.split_once('\n') {
            Some((blank, rest)) if blank.trim().is_empty() => rest,
            _ => return Err(TemplateError::NoSubject { name: txt }),
        };
        if subject.chars().any(|c| c.is_control()) {
            return Err(TemplateError::SubjectLineBreak { name: txt });
        }
        let text = tidy(body);
        let html_name = format!("{purpose}.html");
        let html_ctx = minijinja::context! { text_body => text.clone(), ..ctx };
        let html = le
            .env
            .get_template(&html_name)
            .and_then(|t| t.render(&html_ctx))
            .map_err(|e| render_error(&named(&html_name), &e))?;
        Ok(Rendered {
            subject,
            text,
            html,
        })
    }
}

/// Collapses the runs of blank lines that template conditionals leave behind.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_matches('\n').to_string() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    fn ctx() -> Value {
        context! {
            owner => context!{ name => "Ada Lovelace", first_name => "Ada", email => "ada@example.test" },
            contractor => context!{ name => "Dana Díaz", first_name => "Dana", email => "dana@example.test", timezone => "America/New_York" },
            engagement => context!{
                id => "website", tag => "[website]", title => "Website <redesign>",
                deliverables => "Five pages", quality_standard => "Valid HTML", performance_standard => "On time",
                payment_terms => Value::from(()), starts => "Tue 24 Nov 2026", kickoff => Value::from(()),
                status_reports => Value::from(()),
                milestones => vec![context!{ id => "wf", title => "Wireframes", due => "Sat 5 Dec 2026, 17:59 EST (America/New_York)" }],
                attachments => Vec::<String>::new(),
            },
            milestone => context!{ id => "wf", title => "Wireframes", due => "Sat 5 Dec 2026, 17:59 EST (America/New_York)" },
            extra => context!{ due_in => "3 days", feedback => "Good", received => "today", excerpt => "Here it is",
                recipient => "dana@example.test", error => "550 gone", quiet_for => "6 days", last_heard => "Mon",
                record => "- 1 delivery on time", subject => "Instructions", update => "no", title => "Wireframes", due => "Sat 5 Dec", what => "Wireframes", when => "Sat 5 Dec",
                notes => "Looks good", reason => "Fix the header", percent => "80", spent => "1600.00 EUR", budget => "2000.00 EUR",
                config => "handoff.toml", errors => "handoff.toml:3:9: bad", mailbox => "owner@example.test/INBOX", since => "Tue 24 Nov 2026, 09:00",
                headline => "1 engagement, 1 needs you", folded => "", summary => "Website: late", waiting_since => "Mon",
                overdue_for => "3 days", asked => "Mon", requested => "Mon",
                overdue => "", overdue_count => "0", kickoff_past => "", count => "1",
                milestones => "- Wireframes: due Sat 5 Dec", due_on => "Mon", followup => "",
                needs => "- website: check the delivery of Wireframes",
                because => "a link with \"pushed\"", message_id => "<r1@example.test>",
                milestone_rule => "the reply cites its reminder", current => "Fri 4 Dec",
                proposed => "Thu 10 Dec", comment => "Travelling", answerable => "yes",
                new_text => "Could we move it?", to => "sam@example.test",
                account => "owner@example.test", command => "handoff login --config handoff.toml",
                affects => "replies are not read",
                closed => "finished", review => "- Spent: 1500.00 EUR" },
        }
    }

    #[test]
    fn every_purpose_renders_with_a_subject_text_and_html() {
        let t = Templates::load(None).unwrap();
        for p in Purpose::ALL {
            let r = t.render(*p, &ctx()).unwrap_or_else(|e| panic!("{p}: {e}"));
            assert!(!r.subject.is_empty(), "{p}");
            assert!(
                r.text.ends_with('\n') && !r.text.contains("\n\n\n"),
                "{p}: {:?}",
                r.text
            );
            assert!(r.html.contains("<html lang=\"en\">"), "{p}");
        }
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let t = Templates::load(None).unwrap();
        let r = t.render(Purpose::Instructions, &ctx()).unwrap();
        assert_eq!(r.subject, "Website <redesign> [website]");
        assert!(r.text.contains("\"Website <redesign>\""));
        assert!(r.html.contains("Website &lt;redesign&gt;"));
        assert!(!r.html.contains("<redesign>"));
    }

    #[test]
    fn a_missing_variable_is_an_error_not_a_blank() {
        let t = Templates::load(None).unwrap();
        let full = ctx();
        let c = context! {
            owner => full.get_attr("owner").unwrap(),
            contractor => full.get_attr("contractor").unwrap(),
            engagement => full.get_attr("engagement").unwrap(),
            milestone => full.get_attr("milestone").unwrap(),
        };
        let err = t.render(Purpose::NoticeDelivery, &c).unwrap_err();
        assert!(err.to_string().contains("notice_delivery.txt"), "{err}");
        assert!(err.to_string().contains("undefined"), "{err}");
    }

    #[test]
    fn an_owner_file_overrides_the_default() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("kickoff.txt"),
            "Subject: Hi {{ contractor.first_name }}\n\nCall {{ engagement.nope }}\n",
        )
        .unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        assert_eq!(t.overridden(), ["en/kickoff.txt"]);
        let err = t.render(Purpose::Kickoff, &ctx()).unwrap_err();
        assert!(err.to_string().contains("en/kickoff.txt: line 3"), "{err}");
        std::fs::write(
            dir.path().join("kickoff.txt"),
            "Subject: Hi {{ contractor.first_name }}\n\nCall\n",
        )
        .unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        assert_eq!(
            t.render(Purpose::Kickoff, &ctx()).unwrap().subject,
            "Hi Dana"
        );
    }

    #[test]
    fn an_owner_file_overrides_one_language_and_others_keep_theirs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("de")).unwrap();
        std::fs::write(
            dir.path().join("de/kickoff.txt"),
            "Subject: Hallo {{ contractor.first_name }}\n\nBis bald\n",
        )
        .unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        assert_eq!(t.overridden(), ["de/kickoff.txt"]);
        let de = Lang::parse("de-AT").unwrap();
        let r = t.render_in(&de, Purpose::Kickoff, &ctx()).unwrap();
        assert_eq!(r.subject, "Hallo Dana");
        // The HTML part is still the shipped one, and `lang` is the tag.
        assert!(r.html.contains("lang=\"de-AT\""), "{}", r.html);
        let en = t.render(Purpose::Kickoff, &ctx()).unwrap();
        assert!(en.text.contains("kickoff call"), "{}", en.text);
    }

    #[test]
    fn a_language_without_its_own_file_takes_the_owners_english_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("en")).unwrap();
        std::fs::write(
            dir.path().join("en/notice_sign_in.txt"),
            "Subject: Sign in {{ nope }}\n\nx\n",
        )
        .unwrap();
        let t = Templates::load(Some(dir.path())).unwrap_or_else(|e| panic!("{e}"));
        let err = t.render(Purpose::NoticeSignIn, &ctx()).unwrap_err();
        assert!(err.to_string().contains("en/notice_sign_in.txt"), "{err}");
    }

    #[test]
    fn every_purpose_has_english_files_and_every_translation_an_original() {
        for p in Purpose::ALL {
            for ext in ["txt", "html"] {
                let name = format!("en/{p}.{ext}");
                assert!(DEFAULTS.iter().any(|(n, _)| *n == name), "{name} missing");
            }
        }
        for (name, _) in DEFAULTS {
            let (code, file) = name.split_once('/').unwrap();
            assert!(
                lang::SHIPPED.contains(&code),
                "{name}: not a shipped language"
            );
            let en = format!("en/{file}");
            assert!(
                DEFAULTS.iter().any(|(n, _)| *n == en),
                "{name} has no English original"
            );
        }
    }

    #[test]
    fn purposes_round_trip() {
        for p in Purpose::ALL {
            assert_eq!(Purpose::parse(p.as_str()), Some(*p));
        }
    }
}
