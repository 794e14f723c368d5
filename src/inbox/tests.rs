//! The inbound pipeline's parts on their own: parsing and the rule table.

use super::classify::{Context, Kind, classify};
use super::parse::{Facts, parse};

fn ctx(answers: Option<&str>) -> Context {
    Context {
        engagement: Some("website".into()),
        answers: answers.map(str::to_string),
        from_contractor: true,
        from_owner: false,
        stranger_note: None,
    }
}

/// Facts from a clear sender.
fn from_dana() -> Facts {
    Facts {
        from: Some("dana@example.test".into()),
        ..Default::default()
    }
}

#[test]
fn machines_are_recognised_before_meaning() {
    let f = Facts {
        auto_header: Some("Auto-Submitted: auto-replied".into()),
        new_text: "Out until Monday. Urgent?".into(),
        ..from_dana()
    };
    assert_eq!(
        classify(&f, &ctx(Some("instructions"))).kind,
        Kind::AutoReply
    );
    let raw = b"From: MAILER-DAEMON@mx.example.test\r\nSubject: Undelivered\r\n\r\n550 5.1.1 no such user\r\n";
    let f = parse(raw).unwrap();
    assert_eq!(classify(&f, &Context::default()).kind, Kind::Bounce);
}

#[test]
fn who_comes_before_what() {
    let f = Facts {
        files: vec!["wireframes.pdf".into()],
        ..from_dana()
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
        ..from_dana()
    };
    assert_eq!(
        classify(&f, &ctx(Some("instructions"))).kind,
        Kind::Acknowledgement
    );
    assert_eq!(
        classify(&f, &ctx(Some("status_request"))).kind,
        Kind::StatusReport
    );
    assert_eq!(
        classify(&f, &ctx(None)).kind,
        Kind::Acknowledgement,
        "thanks on any mail of the thread"
    );
    let f = Facts {
        new_text: "See you.".into(),
        ..from_dana()
    };
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
        stranger_note: None,
    }
}

fn said(text: &str) -> Facts {
    Facts {
        new_text: text.into(),
        ..from_dana()
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
        auto_header: Some("Auto-Submitted: auto-replied".into()),
        ..said("accept")
    };
    assert_eq!(
        classify(&auto, &owner(Some("notice_delivery"))).kind,
        Kind::AutoReply
    );
}

#[test]
fn a_mail_without_one_clear_sender_changes_nothing() {
    for from in [
        "",
        "From: dana@example.test, eve@example.test\r\n",
        "From: Dana <dana@>\r\n",
        "From: undisclosed-recipients:;\r\n",
    ] {
        let raw =
            format!("{from}Subject: Re: x\r\nMessage-ID: <u@x>\r\n\r\nHere are the files.\r\n");
        let f = parse(raw.as_bytes()).unwrap();
        assert_eq!(f.from, None, "{from}");
        assert_eq!(
            classify(&f, &ctx(Some("instructions"))).kind,
            Kind::Unparseable,
            "{from}"
        );
    }
}

#[test]
fn a_receipt_or_a_delay_is_never_a_bounce() {
    let mdn = b"From: Dana <dana@example.test>\r\nSubject: Read: Website\r\n\
        Content-Type: multipart/report; report-type=disposition-notification; boundary=\"M\"\r\n\r\n\
        --M\r\nContent-Type: text/plain\r\n\r\nRead.\r\n--M\r\n\
        Content-Type: message/disposition-notification\r\n\r\nDisposition: manual-action/MDN-sent-manually; displayed\r\n\r\n--M--\r\n";
    let f = parse(&mdn[..]).unwrap();
    assert_eq!(
        classify(&f, &ctx(Some("instructions"))).kind,
        Kind::ReadReceipt
    );
    let delayed = b"From: MAILER-DAEMON@mx.example.test\r\nSubject: Delayed Mail (still being retried)\r\n\
        Content-Type: multipart/report; report-type=delivery-status; boundary=\"D\"\r\n\r\n\
        --D\r\nContent-Type: text/plain\r\n\r\nStill trying.\r\n--D\r\n\
        Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n\
        Final-Recipient: rfc822; dana@example.test\r\nAction: delayed\r\nStatus: 4.4.1\r\n\r\n--D--\r\n";
    let f = parse(&delayed[..]).unwrap();
    assert_eq!(
        classify(&f, &ctx(Some("instructions"))).kind,
        Kind::DeliveryDelayed
    );
}

#[test]
fn a_question_outranks_delivery_words_but_not_a_link_with_a_completion_word() {
    let q = said("Should the deliverable be a PDF, or is the link enough?");
    assert_eq!(
        classify(&q, &ctx(Some("instructions"))).kind,
        Kind::Question
    );
    let d = said("Pushed, here is the branch: https://git.example.test/b. Does it build for you?");
    let decision = classify(&d, &ctx(Some("deadline_reminder")));
    assert_eq!(decision.kind, Kind::Delivery);
    assert_eq!(decision.also, [Kind::Question]);
    let s = said("Wireframes 80% done, copy next week. Can I use the old logo?");
    let decision = classify(&s, &ctx(Some("status_request")));
    assert_eq!(decision.kind, Kind::StatusReport);
    assert_eq!(decision.also, [Kind::Question]);
}
