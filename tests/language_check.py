#!/usr/bin/env python3
"""Reads mails as their recipients would and says which language each is in.

Usage: language_check.py EXPECTED.json, where the file lists
[{"path": "...", "lang": "de"}, ...]. Each mail is parsed with Python's own
`email` package (policy.default: RFC 2047 subjects decoded, transfer
encodings undone); the subject and the text/plain body must each read as the
expected language. Exit 1 with one line per mail that does not.

Why function words and not a language-identification package: the mails are
short (a subject is often the engagement's title and a few words), where the
statistical detectors on PyPI (langdetect, langid) are least reliable and
langdetect is not even deterministic; the five languages Handoff writes are
told apart cleanly by their articles, prepositions and pronouns. A word that
two of the languages share ("de", "la", "para") counts for neither.
"""

import email
import email.policy
import json
import re
import sys
from collections import Counter

WORDS = {
    "en": "the and to of is for your you this please with has by was not are be on it will reply your time due day it what when been any".split(),
    "de": "der die das und ist für sie ihre ihnen bitte nicht mit auf eine ein zu von wird noch mail fällig am um ich wir dass oder bis seit wenn hat kein keine".split(),
    "fr": "le la les et est pour vous votre vos de des une un à ne pas avec sur merci ce message qui depuis au aux du en aucun aucune".split(),
    "es": "el la los las y es para su usted de una un con por favor este correo no que del hay sus está ha desde sin".split(),
    "pt": "o a os as e é para você seu sua de uma um com por favor este não que do da até dos das ao está há nenhum nenhuma".split(),
}


def distinct():
    count = Counter(w for ws in WORDS.values() for w in set(ws))
    return {lang: {w for w in ws if count[w] == 1} for lang, ws in WORDS.items()}


DISTINCT = distinct()


def scores(text):
    tokens = re.findall(r"[^\W\d_]+", text.lower())
    return {lang: sum(1 for t in tokens if t in ws) for lang, ws in DISTINCT.items()}


def reads_as(text, lang):
    s = scores(text)
    best = max(s.values())
    return s[lang] > 0 and s[lang] == best and list(s.values()).count(best) == 1, s


def main():
    expected = json.load(open(sys.argv[1]))
    failures = []
    for item in expected:
        with open(item["path"], "rb") as f:
            msg = email.message_from_binary_file(f, policy=email.policy.default)
        subject = str(msg["subject"])
        body = msg.get_body(preferencelist=("plain",)).get_content()
        # The subject tag and commands are the owner's ids, not words.
        subject_words = re.sub(r"\[[^\]]*\]", " ", subject)
        for part, text in (("subject", subject_words), ("body", body)):
            ok, s = reads_as(text, item["lang"])
            if not ok:
                failures.append(
                    f"{item['path']}: {part} is not {item['lang']} ({s}): {text[:200]!r}"
                )
    for f in failures:
        print(f)
    failed = len({f.split(": ", 1)[0] for f in failures})
    print(f"{len(expected) - failed} passed, {failed} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
