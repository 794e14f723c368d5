//! The inbound pipeline's parts on their own: parsing and the rule table.

use super::classify::{Context, Kind, classify};
use super::parse::{Facts, parse};

fn ctx(answers: Option<&str>) -> Context {
    Context {
        engagement: Some("website".into()),
        answers: answers.map(str::to_string),
        from_contractor: true,
        from_owner: false,
    }
}

#[test]
fn machines_are_recognised_before_meaning() {
    let f = Facts {
        auto_headers: true,
        new_text: "Out until Monday. Urgent?".into(),
        ..Default::default()
    };
    assert_eq!(
        classify(&f, &ctx(Some("instructions"))).kind,
        Kind::AutoReply
    );
    let f = Facts {
        delivery_report: true,
        ..Default::default()
    };
    assert_eq!(classify(&f, &Context::default()).kind, Kind::Bounce);
}

#[test]
fn who_comes_before_what() {
    let f = Facts {
        files: 1,
        ..Default::default()
    };
    assert_eq!(classify(&f, &Context::default()).kind, Kind::Unmatched);
    let mut stranger = ctx(Some("instructions"));
    stranger.from_contractor = false;
    assert_eq!(classify(&f, &stranger).kind, Kind::IgnoredSender);
    assert_eq!(
        classify(&f, &ctx(Some("instructions"))).kind,
        Kind::Delivery
    );
}

#[test]
fn a_plain_reply_to_the_instructions_is_an_acknowledgement() {
    let f = Facts {
        new_text: "Got it, thanks.".into(),
        ..Default::default()
    };
    assert_eq!(
        classify(&f, &ctx(Some("instructions"))).kind,
        Kind::Acknowledgement
    );
    assert_eq!(
        classify(&f, &ctx(Some("status_request"))).kind,
        Kind::StatusReport
    );
    assert_eq!(classify(&f, &ctx(None)).kind, Kind::Message);
}

#[test]
fn only_what_they_wrote_counts_not_what_they_quoted() {
    let raw = b"From: dana@example.test\r\nSubject: Re: x\r\nMessage-ID: <a@b>\r\n\r\nFine by me.\r\n\r\nOn Tue, Ada wrote:\r\n> Can you start Monday?\r\n";
    let f = parse(raw).unwrap();
    assert_eq!(f.new_text, "Fine by me.");
    assert_eq!(
        classify(&f, &ctx(Some("instructions"))).kind,
        Kind::Acknowledgement
    );
}

#[test]
fn garbage_and_hostile_headers_do_not_crash() {
    assert!(parse(b"\x00\x01\xff not a mail").is_none());
    let raw = b"From: =?utf-8?B?////?= <x@y>\r\nSubject: =?bogus?Q?=ZZ?=\r\nIn-Reply-To: <<<>>>\r\nContent-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n--\r\n";
    let f = parse(raw).expect("parsed, however odd");
    assert_eq!(f.from.as_deref(), Some("x@y"));
}

fn owner(answers: Option<&str>) -> Context {
    Context {
        engagement: answers.map(|_| "website".to_string()),
        answers: answers.map(str::to_string),
        from_contractor: false,
        from_owner: true,
    }
}

fn said(text: &str) -> Facts {
    Facts {
        new_text: text.into(),
        ..Default::default()
    }
}

#[test]
fn an_owner_command_needs_the_owner_a_cited_notice_and_a_command_line() {
    let accept = said("\n accept: lovely\nAda");
    assert_eq!(
        classify(&accept, &owner(Some("notice_delivery"))).kind,
        Kind::OwnerCommand
    );
    // Citing nothing, or a mail that went to the contractor: refused.
    assert_eq!(
        classify(&accept, &owner(None)).kind,
        Kind::OwnerCommandRejected
    );
    assert_eq!(
        classify(&accept, &owner(Some("instructions"))).kind,
        Kind::OwnerCommandRejected
    );
    // Answering a notice with something that is not a command: refused.
    assert_eq!(
        classify(&said("Thanks!"), &owner(Some("notice_question"))).kind,
        Kind::OwnerCommandRejected
    );
    // Not from the owner: the contractor's own rules apply.
    let mut dana = ctx(Some("notice_delivery"));
    dana.from_owner = false;
    assert_eq!(classify(&accept, &dana).kind, Kind::Message);
    // An owner mail that neither cites a notice nor reads as a command is
    // not a command at all.
    assert_eq!(
        classify(&said("See you Monday"), &owner(None)).kind,
        Kind::Unmatched
    );
    // An auto-responder answering a notice never acts.
    let auto = Facts {
        auto_headers: true,
        ..said("accept")
    };
    assert_eq!(
        classify(&auto, &owner(Some("notice_delivery"))).kind,
        Kind::AutoReply
    );
}
