//! What the server checks in request bodies, said in the OpenAPI document:
//! required members, roles and decisions as enumerations, the length and
//! the characters of names, labels and reasons, passwords' length. The
//! numbers come from the domain's own constants, so that the document
//! cannot drift from the checks; a client generated from it sends what the
//! server accepts.

use crate::domain::account::{DISPLAY_NAME_MAX, EMAIL_MAX, PASSWORD_MAX, PASSWORD_MIN, USER_NAME_MAX, email_pattern};
use crate::domain::record::WHITE_SPACE_CLASS as SPACE;
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
    /// An e-mail address as `account::email` reads it; blank is none.
    Email,
    /// Empty (none), or a date as `record::parse_date` reads it.
    OptionalDate,
    /// Blank (the default), or one of these words.
    OptionalWord(&'static [&'static str]),
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
        ("AccountPatchDto", "email", false, Rule::Email),
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

/// `(path, parameter, rule)`: the query parameters the same way.
fn parameter_rules() -> Vec<(&'static str, &'static str, Rule)> {
    use crate::domain::search::SortOrder;
    vec![
        ("/api/v1/search", "from", Rule::OptionalDate),
        ("/api/v1/search", "to", Rule::OptionalDate),
        ("/api/v1/search", "sort", Rule::OptionalWord(SortOrder::WORDS)),
    ]
}

/// A text as the checks read it: spaces around it dropped, what is left
/// (blank only when `blank`) at most `max` characters long, without any
/// of the characters `bad`. The length is in the pattern, not in
/// `maxLength`, which would count the spaces the checks drop.
fn trimmed(bad: &str, max: usize, blank: bool) -> String {
    let inner = max.saturating_sub(2);
    let kept = format!(r"[^{SPACE}{bad}]([^{bad}]{{0,{inner}}}[^{SPACE}{bad}])?");
    if blank {
        format!(r"^[{SPACE}]*({kept})?[{SPACE}]*$")
    } else {
        format!(r"^[{SPACE}]*{kept}[{SPACE}]*$")
    }
}

/// A user name as `UserName::parse` reads it (spaces around it dropped).
fn user_name_pattern() -> String {
    format!(
        r"^[{SPACE}]*[A-Za-z0-9][A-Za-z0-9._-]{{0,{}}}[{SPACE}]*$",
        USER_NAME_MAX - 1
    )
}

/// A date as `record::parse_date` reads it.
fn date_pattern() -> String {
    format!(r"^{}$", bare_date_pattern())
}

/// The same, without its anchors.
fn bare_date_pattern() -> String {
    format!(r"[{SPACE}]*[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[{SPACE}]*")
}

/// A pattern for a rule's text, or none when the rule is not one.
fn text_pattern(rule: &Rule) -> Option<String> {
    Some(match rule {
        Rule::Label(max) => trimmed(UNREADABLE, *max, false),
        Rule::Text(max) => trimmed(UNREADABLE_BUT_LINES, *max, false),
        Rule::OptionalText(max) => trimmed(UNREADABLE_BUT_LINES, *max, true),
        Rule::OptionalLabel(max) => trimmed(UNREADABLE, *max, true),
        Rule::UserName => user_name_pattern(),
        Rule::EventName => r"^[a-z0-9_]{1,64}$".to_owned(),
        Rule::Date => date_pattern(),
        Rule::Email => email_pattern(),
        Rule::OptionalDate => format!(r"^({})?$", bare_date_pattern()),
        Rule::OptionalWord(words) => format!(r"^[{SPACE}]*({})?[{SPACE}]*$", words.join("|")),
        Rule::OneOf(_) | Rule::Password => return None,
    })
}

/// Writes the rules into the document's schemas.
pub(super) struct RequestRules;

impl utoipa::Modify for RequestRules {
    fn modify(&self, openapi: &mut OpenApi) {
        for (path, name, rule) in parameter_rules() {
            let parameter = openapi
                .paths
                .paths
                .get_mut(path)
                .and_then(|item| item.get.as_mut())
                .and_then(|operation| operation.parameters.as_mut())
                .and_then(|parameters| parameters.iter_mut().find(|p| p.name == name));
            let Some(RefOr::T(Schema::Object(schema))) = parameter.and_then(|p| p.schema.as_mut()) else {
                debug_assert!(false, "no parameter {name} of GET {path}");
                continue;
            };
            schema.pattern = text_pattern(&rule);
        }
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
            property.pattern = text_pattern(&rule).or(property.pattern.take());
            match rule {
                Rule::OneOf(words) => {
                    let mut values: Vec<serde_json::Value> = words.iter().map(|w| serde_json::json!(w)).collect();
                    if nullable {
                        values.push(serde_json::Value::Null);
                    }
                    property.enum_values = Some(values);
                }
                Rule::Password => {
                    property.min_length = Some(PASSWORD_MIN);
                    property.max_length = Some(PASSWORD_MAX);
                }
                Rule::Email => property.max_length = Some(EMAIL_MAX),
                _ => {}
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

    /// Every pattern of the document, wherever it stands.
    fn patterns(value: &serde_json::Value, found: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(members) => {
                for (name, member) in members {
                    match (name.as_str(), member) {
                        ("pattern", serde_json::Value::String(p)) => found.push(p.clone()),
                        _ => patterns(member, found),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| patterns(i, found)),
            _ => {}
        }
    }

    #[test]
    fn no_pattern_uses_a_class_whose_meaning_depends_on_the_dialect() {
        // `\s`, `\d`, `\w` and `\b` mean other characters in ECMA-262 (the
        // schema's dialect), in Python (the fuzzers') and in Rust (the
        // server's): U+0085 is white space to Rust and Python, not to
        // ECMA-262, and a client would see a different rule.
        let doc = serde_json::to_value(super::super::ApiDoc::openapi()).expect("json");
        let mut found = Vec::new();
        patterns(&doc, &mut found);
        assert!(found.len() > 20, "{found:?}");
        for pattern in found {
            regex::Regex::new(&pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
            let mut escaped = false;
            for c in pattern.chars() {
                assert!(
                    !(escaped && matches!(c, 's' | 'S' | 'd' | 'D' | 'w' | 'W' | 'b' | 'B')),
                    "{pattern}"
                );
                escaped = !escaped && c == '\\';
            }
        }
    }

    #[test]
    fn the_search_parameters_patterns_say_what_the_checks_do() {
        use crate::domain::record::parse_date;
        use crate::domain::search::SortOrder;
        let rules = parameter_rules();
        let pattern = |name: &str| {
            let (_, _, rule) = rules.iter().find(|(_, n, _)| *n == name).expect("a rule");
            regex::Regex::new(&text_pattern(rule).expect("a pattern")).expect("a regex")
        };
        let from = pattern("from");
        // As `SearchParams` reads it: empty is none.
        for text in ["", " ", "2024-03-15", "\u{85}2024-03-15 ", "2024-3-15", "x"] {
            let read = text.is_empty() || parse_date("from", text).is_ok();
            assert_eq!(from.is_match(text), read, "{text:?}");
        }
        let sort = pattern("sort");
        for text in ["", "   ", "date", " date_asc\u{85}", "dates", "Date", "relevance"] {
            assert_eq!(sort.is_match(text), SortOrder::parse(text).is_ok(), "{text:?}");
        }
        let doc = serde_json::to_value(super::super::ApiDoc::openapi()).expect("json");
        let written = doc["paths"]["/api/v1/search"]["get"]["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .filter(|p| p["schema"]["pattern"].is_string())
            .count();
        assert_eq!(written, 3, "{doc}");
    }

    #[test]
    fn the_user_name_date_and_email_patterns_say_what_the_checks_do() {
        use crate::domain::account::UserName;
        use crate::domain::record::parse_date;
        let user = regex::Regex::new(&user_name_pattern()).expect("a regex");
        for text in [
            "marie.dupont",
            " Marie ",
            "\u{85}marie",
            "\u{212A}",
            "-marie",
            "é",
            "",
            "a_b-c.d",
        ] {
            assert_eq!(user.is_match(text), UserName::parse(text).is_ok(), "{text:?}");
        }
        let date = regex::Regex::new(&date_pattern()).expect("a regex");
        for text in [
            "2024-03-15",
            " 2024-03-15\u{3000}",
            "2024-3-5",
            "+2024-03-15",
            "15/03/2024",
            "\u{feff}2024-03-15",
        ] {
            assert_eq!(date.is_match(text), parse_date("date", text).is_ok(), "{text:?}");
        }
        let email = regex::Regex::new(&email_pattern()).expect("a regex");
        let spaces = " ".repeat(250);
        for text in ["\u{85}", " a@b.fr\u{85}", "\u{feff}a@b.fr", "a@b.fr", &spaces] {
            assert!(email.is_match(text), "{text:?}");
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
            "\u{85}",
            "\u{feff}",
            "\u{3000}a\u{2028}",
            "a\u{1c}",
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
