//! What the server checks in request bodies, said in the OpenAPI document:
//! required members, roles and decisions as enumerations, the length and
//! the characters of names, labels and reasons, passwords' length. The
//! numbers come from the domain's own constants, so that the document
//! cannot drift from the checks; a client generated from it sends what the
//! server accepts.

use crate::domain::account::{DISPLAY_NAME_MAX, PASSWORD_MAX, PASSWORD_MIN, USER_NAME_MAX};
use crate::domain::role::Role;
use utoipa::openapi::schema::{Schema, SchemaType, Type};
use utoipa::openapi::{OpenApi, RefOr};

/// The characters no text people read may hold: control characters and
/// the ones that override the direction of text (`record::unreadable`).
const UNREADABLE: &str = r"\x00-\x1F\x7F-\x9F\u202A-\u202E\u2066-\u2069";
/// The same, less the line feed, for texts of several lines.
const UNREADABLE_BUT_LINES: &str = r"\x00-\x09\x0B-\x1F\x7F-\x9F\u202A-\u202E\u2066-\u2069";

/// What a member must be.
enum Rule {
    /// One line, not blank, at most this many characters.
    Label(usize),
    /// Lines, not blank, at most this many characters.
    Text(usize),
    /// Lines, at most this many characters; blank is none.
    OptionalText(usize),
    /// One line, at most this many characters; blank is none.
    OptionalLabel(usize),
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// A user name as `UserName::parse` reads it.
    UserName,
    /// A password's length.
    Password,
    /// A start event's name.
    EventName,
    /// A date, `YYYY-MM-DD`.
    Date,
}

/// The roles, as the API writes them.
const ROLES: [&str; 4] = ["admin", "archivist", "auditor", "agent"];

/// `(schema, member, required, rule)`.
fn rules() -> Vec<(&'static str, &'static str, bool, Rule)> {
    let roles: &'static [&'static str] = &ROLES;
    debug_assert!(ROLES.iter().all(|r| Role::parse(r).is_some()));
    vec![
        ("NewAccountDto", "user", true, Rule::UserName),
        ("NewAccountDto", "display_name", true, Rule::Label(DISPLAY_NAME_MAX)),
        ("NewAccountDto", "role", true, Rule::OneOf(roles)),
        ("NewAccountDto", "password", false, Rule::Password),
        ("AccountPatchDto", "display_name", false, Rule::Label(DISPLAY_NAME_MAX)),
        ("AccountPatchDto", "role", false, Rule::OneOf(roles)),
        (
            "AccountPatchDto",
            "service",
            false,
            Rule::OptionalLabel(crate::archive::accounts::SERVICE_MAX),
        ),
        (
            "MoveDto",
            "comment",
            false,
            Rule::OptionalText(crate::archive::circuits::COMMENT_MAX),
        ),
        ("MoveDto", "date", false, Rule::Date),
        ("PasswordDto", "password", true, Rule::Password),
        ("NewTokenDto", "role", true, Rule::OneOf(roles)),
        (
            "NewTokenDto",
            "name",
            true,
            Rule::Label(crate::archive::tokens::TOKEN_NAME_MAX),
        ),
        (
            "RevocationDto",
            "reason",
            false,
            Rule::OptionalText(crate::archive::tokens::REVOCATION_REASON_MAX),
        ),
        ("ReasonDto", "reason", true, Rule::Text(crate::archive::TEXT_MAX)),
        ("NewHoldDto", "reason", true, Rule::Text(crate::archive::TEXT_MAX)),
        ("RecordPatchDto", "reason", true, Rule::Text(crate::archive::TEXT_MAX)),
        ("RecordEventDto", "name", true, Rule::EventName),
        ("RecordEventDto", "date", true, Rule::Date),
        ("StartEventDto", "name", true, Rule::EventName),
        ("StartEventDto", "date", true, Rule::Date),
        ("ReviewDto", "decision", true, Rule::OneOf(&["keep", "destroy"])),
        ("ReviewDto", "reason", true, Rule::Text(crate::archive::TEXT_MAX)),
        ("VisaDto", "visa", true, Rule::Label(crate::archive::LABEL_MAX)),
        ("VisaDto", "signer", true, Rule::Label(crate::archive::LABEL_MAX)),
        (
            "AcknowledgementDto",
            "reference",
            true,
            Rule::Label(crate::archive::LABEL_MAX),
        ),
    ]
}

/// A text as the checks read it: spaces around it dropped, what is left
/// (blank only when `blank`) at most `max` characters long, without any
/// of the characters `bad`. The length is in the pattern, not in
/// `maxLength`, which would count the spaces the checks drop.
fn trimmed(bad: &str, max: usize, blank: bool) -> String {
    let inner = max.saturating_sub(2);
    let kept = format!(r"[^\s{bad}]([^{bad}]{{0,{inner}}}[^\s{bad}])?");
    if blank {
        format!(r"^\s*({kept})?\s*$")
    } else {
        format!(r"^\s*{kept}\s*$")
    }
}

/// Writes the rules into the document's schemas.
pub(super) struct RequestRules;

impl utoipa::Modify for RequestRules {
    fn modify(&self, openapi: &mut OpenApi) {
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        for (schema, member, required, rule) in rules() {
            let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(schema) else {
                debug_assert!(false, "no schema {schema}");
                continue;
            };
            if required && !object.required.iter().any(|r| r == member) {
                object.required.push(member.to_owned());
            }
            let Some(RefOr::T(Schema::Object(property))) = object.properties.get_mut(member) else {
                debug_assert!(false, "no member {schema}.{member}");
                continue;
            };
            let nullable = matches!(&property.schema_type, SchemaType::Array(types) if types.contains(&Type::Null));
            match rule {
                Rule::Label(max) => property.pattern = Some(trimmed(UNREADABLE, max, false)),
                Rule::Text(max) => property.pattern = Some(trimmed(UNREADABLE_BUT_LINES, max, false)),
                Rule::OptionalText(max) => property.pattern = Some(trimmed(UNREADABLE_BUT_LINES, max, true)),
                Rule::OptionalLabel(max) => property.pattern = Some(trimmed(UNREADABLE, max, true)),
                Rule::OneOf(words) => {
                    let mut values: Vec<serde_json::Value> = words.iter().map(|w| serde_json::json!(w)).collect();
                    if nullable {
                        values.push(serde_json::Value::Null);
                    }
                    property.enum_values = Some(values);
                }
                Rule::UserName => {
                    property.pattern = Some(format!(r"^\s*[A-Za-z0-9][A-Za-z0-9._-]{{0,{}}}\s*$", USER_NAME_MAX - 1));
                }
                Rule::Password => {
                    property.min_length = Some(PASSWORD_MIN);
                    property.max_length = Some(PASSWORD_MAX);
                }
                Rule::EventName => {
                    property.pattern = Some(r"^[a-z0-9_]{1,64}$".to_owned());
                }
                Rule::Date => {
                    property.pattern = Some(r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\s*$".to_owned());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::OpenApi as _;

    #[test]
    fn every_rule_names_a_member_of_the_document() {
        // The modifier asserts (in debug builds) as it writes.
        let doc = super::super::ApiDoc::openapi();
        let schemas = &doc.components.expect("components").schemas;
        for (schema, member, required, _) in rules() {
            let Some(RefOr::T(Schema::Object(object))) = schemas.get(schema) else {
                panic!("no schema {schema}");
            };
            assert!(object.properties.contains_key(member), "{schema}.{member}");
            if required {
                assert!(
                    object.required.iter().any(|r| r == member),
                    "{schema}.{member} is required"
                );
            }
        }
    }

    #[test]
    fn the_text_patterns_say_what_the_checks_do() {
        use crate::domain::record::{Lines, check_text};
        const MAX: usize = 10;
        let label = regex::Regex::new(&trimmed(UNREADABLE, MAX, false)).expect("a regex");
        let lines = regex::Regex::new(&trimmed(UNREADABLE_BUT_LINES, MAX, false)).expect("a regex");
        let optional = regex::Regex::new(&trimmed(UNREADABLE_BUT_LINES, MAX, true)).expect("a regex");
        let texts = [
            "Marie Dupont",
            " a ",
            "facture\u{202E}fdp",
            "",
            "   ",
            "a\nb",
            "a\u{7}b",
            "é",
            "\ta\t",
            " a\tb ",
            "\u{85}x",
            "0123456789",
            " 0123456789      ",
            "0123456789A",
            "x",
            "  ab  ",
        ];
        for text in texts {
            assert_eq!(
                label.is_match(text),
                check_text("t", text, MAX, Lines::One).is_ok(),
                "{text:?}"
            );
            assert_eq!(
                lines.is_match(text),
                check_text("t", text, MAX, Lines::Many).is_ok(),
                "{text:?}"
            );
            let blank = text.trim().is_empty();
            assert_eq!(
                optional.is_match(text),
                blank || check_text("t", text, MAX, Lines::Many).is_ok(),
                "{text:?}"
            );
        }
    }
}
