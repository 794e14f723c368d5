use super::classify::{Context, Kind, classify};
use super::parse::{Facts, parse};

fn ctx(answers: Option<&str>) -> Context {
    Context {
        engagement: Some("website".into()),
        answers: answers.map(str::to_string),
        from_contractor: true,
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
