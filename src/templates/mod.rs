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
mod purpose;
mod words;

pub use purpose::Purpose;
pub use words::{local_date, local_time};

use defaults::DEFAULTS;
use minijinja::{Environment, UndefinedBehavior, Value};
use std::path::{Path, PathBuf};

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

/// The loaded templates (defaults plus the owner's overrides).
pub struct Templates {
    env: Environment<'static>,
    /// Where each template came from, for messages ("built in" or a path).
    overrides: Vec<String>,
}

impl Templates {
    /// The defaults, with any same-named file in `dir` taking their place.
    pub fn load(dir: Option<&Path>) -> Result<Templates, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Auto-escaping stays minijinja's default: HTML-escape in `.html`
        // templates only, since mail text is not HTML.
        let mut overrides = Vec::new();
        for (name, source) in DEFAULTS {
            let over = dir.map(|d| d.join(name)).filter(|p| p.is_file());
            let source = match &over {
                Some(path) => {
                    overrides.push(name.to_string());
                    std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
                        path: path.clone(),
                        source,
                    })?
                }
                None => source.to_string(),
            };
            env.add_template_owned(name.to_string(), source)
                .map_err(|e| render_error(name, &e))?;
        }
        Ok(Templates { env, overrides })
    }

    /// Names of the templates the owner overrides.
    pub fn overridden(&self) -> &[String] {
        &self.overrides
    }

    /// Renders one purpose against `ctx`.
    pub fn render(&self, purpose: Purpose, ctx: &Value) -> Result<Rendered, TemplateError> {
        let txt = format!("{purpose}.txt");
        let full = self
            .env
            .get_template(&txt)
            .and_then(|t| t.render(ctx))
            .map_err(|e| render_error(&txt, &e))?;
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
        let html_ctx = minijinja::context! { text_body => text.clone(), ..ctx.clone() };
        let html = self
            .env
            .get_template(&html_name)
            .and_then(|t| t.render(&html_ctx))
            .map_err(|e| render_error(&html_name, &e))?;
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
            assert!(r.html.contains("<html>"), "{p}");
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
        assert_eq!(t.overridden(), ["kickoff.txt"]);
        let err = t.render(Purpose::Kickoff, &ctx()).unwrap_err();
        assert!(err.to_string().contains("kickoff.txt: line 3"), "{err}");
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
    fn every_file_in_templates_is_compiled_in() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".txt") || name.ends_with(".html") {
                assert!(
                    DEFAULTS.iter().any(|(n, _)| *n == name),
                    "{name} is not in DEFAULTS"
                );
            }
        }
        for p in Purpose::ALL {
            for ext in ["txt", "html"] {
                let name = format!("{p}.{ext}");
                assert!(DEFAULTS.iter().any(|(n, _)| *n == name), "{name} missing");
            }
        }
    }

    #[test]
    fn purposes_round_trip() {
        for p in Purpose::ALL {
            assert_eq!(Purpose::parse(p.as_str()), Some(*p));
        }
    }
}
