//! `[owner]` and `[[contractor]]`: the people mail goes between.

use super::*;

pub(super) const OWNER_KEYS: &[&str] = &["name", "email", "timezone"];

pub(super) const CONTRACTOR_KEYS: &[&str] = &["id", "name", "email", "timezone"];

pub(super) fn read_owner(d: &mut Diagnostics<'_>, mut s: Section<'_, '_>) -> Option<Owner> {
    let name = s.req_str(d, "name", "name = \"Your Name\"");
    let name = name.and_then(|v| {
        check(d, &v, "`name` in [owner]", values::name).map(|_| v.get_ref().to_string())
    });
    let email = s.req_str(d, "email", "email = \"you@example.com\"");
    let email = email.and_then(|v| check(d, &v, "`email` in [owner]", values::address));
    let tz = s.req_str(d, "timezone", "timezone = \"Europe/Berlin\"");
    let tz = tz.and_then(|v| check(d, &v, "`timezone` in [owner]", values::timezone));
    s.finish(d);
    Some(Owner {
        name: name?,
        email: email?,
        timezone: tz?,
    })
}

/// Contractors in config order, `None` marking one with errors, plus every id
/// written (also of contractors with other errors, so an engagement naming one
/// is not told its contractor does not exist).
pub(super) fn read_contractors(
    d: &mut Diagnostics<'_>,
    sections: Vec<Section<'_, '_>>,
    owner_tz: Tz,
) -> (Vec<Option<Contractor>>, Vec<String>) {
    let mut seen = HashMap::new();
    let mut out = Vec::new();
    for mut s in sections {
        let id = read_id(d, &mut s, "contractor", &mut seen);
        let name = s
            .req_str(d, "name", "name = \"the contractor's name\"")
            .and_then(|v| {
                check(d, &v, &format!("`name` in {}", s.name), values::name)
                    .map(|_| v.get_ref().to_string())
            });
        let email = s
            .req_str(d, "email", "email = \"them@example.com\"")
            .and_then(|v| check(d, &v, &format!("`email` in {}", s.name), values::address));
        let tz = match s.str(d, "timezone") {
            None => Some(owner_tz),
            Some(v) => check(
                d,
                &v,
                &format!("`timezone` in {}", s.name),
                values::timezone,
            ),
        };
        s.finish(d);
        out.push((|| {
            Some(Contractor {
                id: id?,
                name: name?,
                email: email?,
                timezone: tz?,
            })
        })());
    }
    (out, seen.into_keys().collect())
}
