//! Search queries as people type them, read leniently and bounded.
//!
//! People type French: apostrophes (`l'encodage`, `d’archivage`), hyphens,
//! colons (`Objet : facture`), slashes (`2024/03`), parentheses, quotes they
//! forget to close. All of that is read as words. Operators are honoured
//! when they are written as operators: `"phrases"` (also `« … »` and
//! `“ … ”`), `-exclusion`, `+required`, `OR`/`OU`, `NOT`/`SAUF`, groups in
//! parentheses, and `champ:valeur` for the fields people search by. Only an
//! operator that is explicitly misused is refused: an unknown field, a date
//! that is not one, a range opened and not closed; the message says where
//! and how to write it, in French.
//!
//! The work a query can cause is bounded here, before any engine sees it:
//! its length, its nesting and its number of terms.
//!
//! A parsed query is rendered into the engine's own syntax by
//! [`Query::render`], in which every word is either plain letters and
//! digits or quoted, so the engine never meets a character it would read
//! as an operator.

use chrono::NaiveDate;
use std::fmt;

/// The longest query read, in characters.
pub const QUERY_MAX_CHARS: usize = 2000;
/// The deepest nesting of parentheses.
pub const DEPTH_MAX: usize = 8;
/// The most words, phrases and ranges in one query.
pub const TERMS_MAX: usize = 64;

/// A field people search by, and the names they may give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// The record's title.
    Title,
    /// Its text.
    Body,
    /// Its reference.
    Reference,
    /// Its node in the plan.
    Node,
    /// Its producing service.
    Service,
    /// Its document type.
    Type,
    /// Its date.
    Date,
    /// A field the plan defines for records (`fournisseur`,
    /// `montant_ttc`): its name, and whether it holds numbers.
    Record(String, bool),
}

/// A field the plan defines for records, as searches know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordField {
    /// Its name in the plan.
    pub name: String,
    /// Whether its values are numbers (decimal, integer), searched by
    /// value and by range.
    pub numeric: bool,
}

impl Field {
    /// Every field, in the order messages list them.
    pub const ALL: [Field; 7] = [
        Field::Title,
        Field::Body,
        Field::Reference,
        Field::Node,
        Field::Service,
        Field::Type,
        Field::Date,
    ];

    /// The name messages give it.
    pub fn name(&self) -> &str {
        match self {
            Field::Title => "titre",
            Field::Body => "texte",
            Field::Reference => "ref",
            Field::Node => "nœud",
            Field::Service => "service",
            Field::Type => "type",
            Field::Date => "date",
            Field::Record(name, _) => name,
        }
    }

    /// The field a name designates, in French or English, with or without
    /// accents, whatever the case.
    pub fn named(name: &str) -> Option<Field> {
        let name = name.to_lowercase();
        Some(match name.as_str() {
            "titre" | "title" => Field::Title,
            "texte" | "text" | "body" | "contenu" => Field::Body,
            "ref" | "reference" | "référence" | "cote" | "ref_prefix" => Field::Reference,
            "noeud" | "nœud" | "node" | "classement" => Field::Node,
            "service" => Field::Service,
            "type" => Field::Type,
            "date" => Field::Date,
            _ => return None,
        })
    }

    /// The engine's name for it.
    fn engine_name(&self) -> String {
        if let Field::Record(name, _) = self {
            return format!("fields.{name}");
        }
        match self {
            Field::Title => "title",
            Field::Body => "body",
            Field::Reference => "ref_prefix",
            Field::Node => "node",
            Field::Service => "service",
            Field::Type => "type",
            Field::Date => "date",
            Field::Record(..) => "",
        }
        .to_owned()
    }
}

/// The prefixes a reference is found by, lower case, each ending where a
/// part ends: `FIN-FAC-2024-000001` is found by `fin`, `fin-fac`,
/// `fin-fac-2024` and itself.
pub fn reference_prefixes(reference: &str) -> Vec<String> {
    let lower = reference.to_lowercase();
    let mut out: Vec<String> = lower
        .match_indices('-')
        .map(|(at, _)| lower[..at].to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    out.push(lower);
    out
}

/// Whether a word reads as (the start of) a reference: parts of ASCII
/// letters and digits joined by hyphens, the first of letters.
fn looks_like_reference(word: &str) -> bool {
    let mut parts = word.split('-');
    let first = parts.next().unwrap_or_default();
    !first.is_empty()
        && first.chars().all(|c| c.is_ascii_alphabetic())
        && word.contains('-')
        && word
            .split('-')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Why a query is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    /// Longer than [`QUERY_MAX_CHARS`].
    TooLong {
        /// The bound.
        max: usize,
    },
    /// Parentheses nested deeper than [`DEPTH_MAX`].
    TooDeep {
        /// The bound.
        max: usize,
    },
    /// More than [`TERMS_MAX`] terms.
    TooManyTerms {
        /// The bound.
        max: usize,
    },
    /// `name:value` with a name that is no field.
    UnknownField {
        /// The name written.
        name: String,
        /// Where (1-based character).
        at: usize,
        /// The plan's fields that could have been meant.
        record_fields: Vec<String>,
    },
    /// A number field given something that is no number.
    BadNumber {
        /// The field.
        field: String,
        /// The value written.
        value: String,
        /// Where.
        at: usize,
    },
    /// `date:` with a value that is no date.
    BadDate {
        /// The value written.
        value: String,
        /// Where.
        at: usize,
    },
    /// `[` or `{` opened and never closed.
    UnclosedRange {
        /// Where it opened.
        at: usize,
    },
}

impl QueryError {
    /// Whether the query went over a bound (rather than being misspelt).
    pub fn is_limit(&self) -> bool {
        matches!(
            self,
            QueryError::TooLong { .. } | QueryError::TooDeep { .. } | QueryError::TooManyTerms { .. }
        )
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryError::TooLong { max } => {
                write!(f, "La recherche dépasse {max} caractères : raccourcissez-la.")
            }
            QueryError::TooDeep { max } => write!(
                f,
                "La recherche imbrique plus de {max} niveaux de parenthèses : simplifiez-la."
            ),
            QueryError::TooManyTerms { max } => write!(
                f,
                "La recherche compte plus de {max} mots ou expressions : gardez les plus parlants."
            ),
            QueryError::UnknownField {
                name,
                at,
                record_fields,
            } => {
                let known: Vec<&str> = Field::ALL
                    .iter()
                    .map(|f| f.name())
                    .chain(record_fields.iter().map(String::as_str))
                    .collect();
                write!(
                    f,
                    "Le champ « {name} » (caractère {at}) n'existe pas. Écrivez champ:valeur avec l'un de ces champs : {}.",
                    known.join(", ")
                )
            }
            QueryError::BadDate { value, at } => write!(
                f,
                "« {value} » (caractère {at}) n'est pas une date. Écrivez date:2024, date:2024-03, date:2024-03-15 ou date:[2024-01-01 TO 2024-06-30]."
            ),
            QueryError::BadNumber { field, value, at } => write!(
                f,
                "« {value} » (caractère {at}) n'est pas un nombre. Écrivez {field}:1200,50 ou {field}:[1000 TO 5000]."
            ),
            QueryError::UnclosedRange { at } => write!(
                f,
                "L'intervalle ouvert au caractère {at} n'est pas fermé. Écrivez par exemple date:[2024-01-01 TO 2024-06-30]."
            ),
        }
    }
}

impl std::error::Error for QueryError {}

/// Whether a clause must hold or must not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occur {
    /// Written plainly (the engine's default applies).
    Default,
    /// `+word`: must hold.
    Must,
    /// `-word`, `NOT word`: must not hold.
    Not,
}

/// What a clause looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Atom {
    /// A word as typed (it may hold punctuation).
    Word(String),
    /// Words in this order.
    Phrase(String),
    /// Dates from the first day to the last, both included.
    Dates(NaiveDate, NaiveDate),
    /// Numbers from the first to the last, both included (`*`: no bound).
    Numbers(String, String),
    /// A parenthesised query.
    Group(Vec<Item>),
    /// Words or expressions that mean the same (the plan's synonyms):
    /// any of them.
    Synonyms(Vec<String>),
}

/// One element of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// Something to look for.
    Clause {
        /// Must it hold, or not.
        occur: Occur,
        /// In which field (the title and text when none).
        field: Option<Field>,
        /// What.
        atom: Atom,
    },
    /// `OR` between the clauses on either side.
    Or,
}

/// A query read from what a person typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Its elements, in order.
    pub items: Vec<Item>,
}

/// A token of the text, with the character it starts at (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String, usize),
    Phrase(String, usize),
    Open(usize),
    Close,
}

fn is_open_quote(c: char) -> bool {
    matches!(c, '"' | '“' | '«' | '„')
}

fn is_close_quote(c: char) -> bool {
    matches!(c, '"' | '”' | '»' | '“')
}

fn is_structural(c: char) -> bool {
    c.is_whitespace() || c == '(' || c == ')' || is_open_quote(c) || is_close_quote(c)
}

/// Splits the text into words, phrases and parentheses. A quote never
/// closed runs to the end of the text.
fn tokens(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push(Token::Open(i + 1));
            i += 1;
        } else if c == ')' {
            out.push(Token::Close);
            i += 1;
        } else if is_open_quote(c) || is_close_quote(c) {
            let start = i + 1;
            let mut j = start;
            while j < chars.len() && !is_close_quote(chars[j]) {
                j += 1;
            }
            out.push(Token::Phrase(chars[start..j].iter().collect(), i + 1));
            i = j + 1;
        } else {
            let start = i;
            while i < chars.len() && !is_structural(chars[i]) {
                i += 1;
            }
            out.push(Token::Word(chars[start..i].iter().collect(), start + 1));
        }
    }
    out
}

/// Parses a date value: `2024`, `2024-03`, `2024-03-15` (also with `/`),
/// as the first and last day it covers.
fn date_span(value: &str) -> Option<(NaiveDate, NaiveDate)> {
    // A time of day, as rendered ranges carry, is not part of the day.
    let value = value.split('T').next().unwrap_or(value);
    let parts: Vec<&str> = value.split(['-', '/']).collect();
    let number = |s: &str, len: usize| {
        (s.len() == len && s.chars().all(|c| c.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    match parts.as_slice() {
        [y] => {
            let y = number(y, 4)? as i32;
            Some((NaiveDate::from_ymd_opt(y, 1, 1)?, NaiveDate::from_ymd_opt(y, 12, 31)?))
        }
        [y, m] => {
            let (y, m) = (number(y, 4)? as i32, number(m, 2)?);
            let first = NaiveDate::from_ymd_opt(y, m, 1)?;
            let next = if m == 12 {
                NaiveDate::from_ymd_opt(y + 1, 1, 1)?
            } else {
                NaiveDate::from_ymd_opt(y, m + 1, 1)?
            };
            Some((first, next.pred_opt()?))
        }
        [y, m, d] => {
            let day = NaiveDate::from_ymd_opt(number(y, 4)? as i32, number(m, 2)?, number(d, 2)?)?;
            Some((day, day))
        }
        _ => None,
    }
}

/// Whether a name before `:` reads as a field name someone meant (a word
/// of letters), rather than a time (`10:30`) or an address (`http://`).
fn looks_like_field_name(name: &str) -> bool {
    // One letter is a drive (`C:\`), not a field.
    name.chars().count() >= 2
        && name.chars().count() <= 40
        && name.chars().next().is_some_and(char::is_alphabetic)
        && name.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// Reads a query. Never fails for punctuation; fails for the bounds and for
/// an explicitly misused operator.
pub fn parse(text: &str) -> Result<Query, QueryError> {
    parse_with(text, &[])
}

/// Reads a query in which the plan's fields may be named too.
pub fn parse_with(text: &str, record_fields: &[RecordField]) -> Result<Query, QueryError> {
    if text.chars().count() > QUERY_MAX_CHARS {
        return Err(QueryError::TooLong { max: QUERY_MAX_CHARS });
    }
    let tokens = tokens(text);
    // Open groups, innermost last; the outermost is the query itself.
    let mut groups: Vec<Vec<Item>> = vec![Vec::new()];
    let mut pending = Occur::Default;
    let mut terms = 0usize;
    let mut i = 0;
    let push = |groups: &mut Vec<Vec<Item>>, item: Item| {
        if let Some(group) = groups.last_mut() {
            group.push(item);
        }
    };
    while i < tokens.len() {
        let token = tokens[i].clone();
        i += 1;
        match token {
            Token::Open(_) => {
                if groups.len() > DEPTH_MAX {
                    return Err(QueryError::TooDeep { max: DEPTH_MAX });
                }
                groups.push(Vec::new());
                // The occurrence written before the group applies to it: it
                // is kept aside with the group.
                if let Some(group) = groups.last_mut() {
                    group.push(Item::Clause {
                        occur: pending,
                        field: None,
                        atom: Atom::Group(Vec::new()),
                    });
                }
                pending = Occur::Default;
            }
            Token::Close => {
                if groups.len() > 1 {
                    close_group(&mut groups);
                }
            }
            Token::Phrase(words, _) => {
                if !words.chars().any(char::is_alphanumeric) {
                    pending = Occur::Default;
                    continue;
                }
                terms += 1;
                push(
                    &mut groups,
                    Item::Clause {
                        occur: pending,
                        field: None,
                        atom: Atom::Phrase(words),
                    },
                );
                pending = Occur::Default;
            }
            Token::Word(word, at) => {
                // A lone sign right before what it qualifies: `-(a OR b)`.
                let next_at = match tokens.get(i) {
                    Some(Token::Open(p)) | Some(Token::Word(_, p)) | Some(Token::Phrase(_, p)) => Some(*p),
                    _ => None,
                };
                if (word == "-" || word == "+") && next_at == Some(at + 1) {
                    pending = if word == "-" { Occur::Not } else { Occur::Must };
                    continue;
                }
                match word.as_str() {
                    "OR" | "OU" | "||" => {
                        push(&mut groups, Item::Or);
                        continue;
                    }
                    "AND" | "ET" | "&&" => continue,
                    "NOT" | "SAUF" => {
                        pending = Occur::Not;
                        continue;
                    }
                    _ => {}
                }
                let (occur, word) = match word.chars().next() {
                    Some('-') if word.chars().count() > 1 => (Occur::Not, &word[1..]),
                    Some('+') if word.chars().count() > 1 => (Occur::Must, &word[1..]),
                    _ => (pending, word.as_str()),
                };
                pending = Occur::Default;
                let (field, value) = match word.split_once(':') {
                    Some((name, value)) if looks_like_field_name(name) => match Field::named(name).or_else(|| {
                        record_fields
                            .iter()
                            .find(|f| comparable(&f.name) == comparable(name))
                            .map(|f| Field::Record(f.name.clone(), f.numeric))
                    }) {
                        Some(field) => (Some(field), value),
                        // No field was meant where no value follows.
                        None if !value.chars().any(char::is_alphanumeric) || value.starts_with('/') => (None, word),
                        None => {
                            return Err(QueryError::UnknownField {
                                name: name.to_owned(),
                                at,
                                record_fields: record_fields.iter().map(|f| f.name.clone()).collect(),
                            });
                        }
                    },
                    _ => (None, word),
                };
                let atom = match &field {
                    Some(Field::Record(name, true)) => {
                        let (numbers, next) = number_value(name, value, &tokens, i, at)?;
                        i = next;
                        match numbers {
                            Some(atom) => atom,
                            None => continue,
                        }
                    }
                    Some(Field::Date) => {
                        let (span, next) = date_value(value, &tokens, i, at)?;
                        i = next;
                        match span {
                            Some((from, to)) => Atom::Dates(from, to),
                            None => continue,
                        }
                    }
                    Some(_) if value.is_empty() => {
                        // `titre: budget` or `titre:"budget primitif"`.
                        match tokens.get(i) {
                            Some(Token::Word(next, _)) => {
                                i += 1;
                                Atom::Word(next.clone())
                            }
                            Some(Token::Phrase(next, _)) => {
                                i += 1;
                                Atom::Phrase(next.clone())
                            }
                            _ => continue,
                        }
                    }
                    _ if !value.chars().any(char::is_alphanumeric) => continue,
                    _ => Atom::Word(value.to_owned()),
                };
                terms += 1;
                push(&mut groups, Item::Clause { occur, field, atom });
            }
        }
        if terms > TERMS_MAX {
            return Err(QueryError::TooManyTerms { max: TERMS_MAX });
        }
    }
    while groups.len() > 1 {
        close_group(&mut groups);
    }
    Ok(Query {
        items: groups.pop().unwrap_or_default(),
    })
}

/// Closes the innermost group into its parent: its first item holds the
/// occurrence written before it.
fn close_group(groups: &mut Vec<Vec<Item>>) {
    let Some(mut items) = groups.pop() else { return };
    let occur = match items.first() {
        Some(Item::Clause {
            occur,
            atom: Atom::Group(inner),
            field: None,
        }) if inner.is_empty() => *occur,
        _ => Occur::Default,
    };
    if !items.is_empty() {
        items.remove(0);
    }
    if let Some(parent) = groups.last_mut() {
        parent.push(Item::Clause {
            occur,
            field: None,
            atom: Atom::Group(items),
        });
    }
}

/// Gathers a range starting with `value` (`[a TO b]`, `{a TO b}`) over
/// the next tokens; returns its bounds as written and the index of the next
/// token to read (`None`: `value` opens no range). A range that is not
/// `low TO high` is `malformed`, given what was written.
fn range_bounds(
    value: &str,
    tokens: &[Token],
    next: usize,
    at: usize,
    malformed: impl Fn(&str) -> QueryError,
) -> Result<Option<(String, String, usize)>, QueryError> {
    if !(value.starts_with('[') || value.starts_with('{')) {
        return Ok(None);
    }
    let mut text = value.to_owned();
    let mut i = next;
    while !(text.ends_with(']') || text.ends_with('}')) {
        match tokens.get(i) {
            Some(Token::Word(w, _)) => {
                text.push(' ');
                text.push_str(w);
                i += 1;
            }
            _ => return Err(QueryError::UnclosedRange { at }),
        }
    }
    let inner = &text[1..text.len() - 1];
    let parts: Vec<&str> = inner.split_whitespace().collect();
    match parts.as_slice() {
        [low, to, high] if to.eq_ignore_ascii_case("TO") || to.eq_ignore_ascii_case("À") || *to == "A" => {
            Ok(Some(((*low).to_owned(), (*high).to_owned(), i)))
        }
        _ => Err(malformed(&text)),
    }
}

/// A number as written in French or English (`1200,50`, `1200.50`), in
/// the engine's form.
fn number(text: &str) -> Option<String> {
    let text = text.replace(',', ".");
    text.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .map(|n| n.to_string())
}

/// Reads the value of a number field: a number, or a range of numbers.
fn number_value(
    field: &str,
    value: &str,
    tokens: &[Token],
    next: usize,
    at: usize,
) -> Result<(Option<Atom>, usize), QueryError> {
    let bad = |value: &str| QueryError::BadNumber {
        field: field.to_owned(),
        value: value.to_owned(),
        at,
    };
    match range_bounds(value, tokens, next, at, bad)? {
        Some((low, high, i)) => {
            let bound = |b: &str| if b == "*" { Some("*".to_owned()) } else { number(b) };
            let low = bound(&low).ok_or_else(|| bad(&low))?;
            let high = bound(&high).ok_or_else(|| bad(&high))?;
            Ok((Some(Atom::Numbers(low, high)), i))
        }
        None if value.is_empty() => Ok((None, next)),
        None => {
            let n = number(value).ok_or_else(|| bad(value))?;
            Ok((Some(Atom::Numbers(n.clone(), n)), next))
        }
    }
}

/// Reads a `date:` value starting with `value` (the rest of the word);
/// a range may run over the next tokens. Returns the span (none for an
/// empty value) and the index of the next token to read.
fn date_value(
    value: &str,
    tokens: &[Token],
    next: usize,
    at: usize,
) -> Result<(Option<(NaiveDate, NaiveDate)>, usize), QueryError> {
    let bad = |value: &str| QueryError::BadDate {
        value: value.to_owned(),
        at,
    };
    let Some((low, high, next)) = range_bounds(value, tokens, next, at, bad)? else {
        if value.is_empty() {
            return Ok((None, next));
        }
        return date_span(value).map(|s| (Some(s), next)).ok_or_else(|| bad(value));
    };
    let from = if low == "*" {
        NaiveDate::MIN
    } else {
        date_span(&low).ok_or_else(|| bad(&low))?.0
    };
    let to = if high == "*" {
        NaiveDate::MAX
    } else {
        date_span(&high).ok_or_else(|| bad(&high))?.1
    };
    Ok((Some((from, to)), next))
}

/// A word or expression as synonyms are compared: lower case, without
/// accents, one apostrophe, single spaces.
fn comparable(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .map(|c| if c == '’' { '\'' } else { c })
        .collect::<String>()
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The longest run of words an expression of synonyms is looked for in.
const SYNONYM_WORDS_MAX: usize = 6;

fn expand(items: Vec<Item>, groups: &[Vec<String>]) -> Vec<Item> {
    let group_of = |text: &str| -> Option<&Vec<String>> {
        let text = comparable(text);
        groups.iter().find(|g| g.iter().any(|t| comparable(t) == text))
    };
    let plain_word = |item: &Item| match item {
        Item::Clause {
            occur: Occur::Default,
            field: None,
            atom: Atom::Word(w),
        } => Some(w.clone()),
        _ => None,
    };
    let mut out = Vec::with_capacity(items.len());
    let mut i = 0;
    'items: while i < items.len() {
        // The longest run of plain words from here that is an expression.
        for len in (2..=SYNONYM_WORDS_MAX).rev() {
            let Some(run) = items.get(i..i + len) else { continue };
            let words: Option<Vec<String>> = run.iter().map(plain_word).collect();
            if let Some(group) = words.and_then(|w| group_of(&w.join(" "))) {
                out.push(Item::Clause {
                    occur: Occur::Default,
                    field: None,
                    atom: Atom::Synonyms(group.clone()),
                });
                i += len;
                continue 'items;
            }
        }
        let item = items[i].clone();
        i += 1;
        out.push(match item {
            Item::Clause {
                occur,
                field: None,
                atom: Atom::Word(w) | Atom::Phrase(w),
            } if group_of(&w).is_some() => Item::Clause {
                occur,
                field: None,
                atom: Atom::Synonyms(group_of(&w).cloned().unwrap_or_default()),
            },
            Item::Clause {
                occur,
                field,
                atom: Atom::Group(inner),
            } => Item::Clause {
                occur,
                field,
                atom: Atom::Group(expand(inner, groups)),
            },
            other => other,
        });
    }
    out
}

/// How many of `free` words written plainly a record must hold to be
/// found: all of one or two, all but one of three or four, three in four
/// beyond. A record holding more of them ranks higher.
pub fn should_match(free: usize) -> usize {
    match free {
        0..=2 => free,
        3..=4 => free - 1,
        _ => (free * 3).div_ceil(4),
    }
}

/// Whether the engine reads a word as it is: letters and digits only, and
/// not one of its operator words.
fn plain(word: &str) -> bool {
    word.chars().all(char::is_alphanumeric)
        && !["and", "or", "not", "to", "in"]
            .iter()
            .any(|op| word.eq_ignore_ascii_case(op))
}

/// A word or phrase as the engine reads it: plain, or quoted with nothing
/// inside that it could take for syntax. `None` when nothing is left.
fn quoted(text: &str) -> Option<String> {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c == '"' || c == '\\' || c.is_control() {
                ' '
            } else {
                c
            }
        })
        .collect();
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if !cleaned.chars().any(char::is_alphanumeric) {
        return None;
    }
    Some(if plain(&cleaned) {
        cleaned
    } else {
        format!("\"{cleaned}\"")
    })
}

/// A day as the index's date field holds it: its number of days from
/// 1970-01-01, written as that many seconds from the epoch, so that every
/// year from 1 to 9999 keeps its order in a field whose own dates end in
/// 1677 and 2262 (the text index keeps dates so).
fn render_date(d: NaiveDate) -> String {
    let epoch = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
    let d = d.clamp(
        NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or(NaiveDate::MIN),
        NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX),
    );
    let days = d.signed_duration_since(epoch.date_naive()).num_days();
    let kept = epoch + chrono::Duration::seconds(days);
    kept.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn render_items(items: &[Item]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut or_pending = false;
    for item in items {
        match item {
            Item::Or => or_pending = !parts.is_empty(),
            Item::Clause { occur, field, atom } => {
                let body = match (atom, field) {
                    // A reference, whatever its case, by any prefix.
                    (Atom::Word(w) | Atom::Phrase(w), Some(Field::Reference)) => quoted(&w.to_lowercase()),
                    (Atom::Word(w), None) if looks_like_reference(w) => quoted(w)
                        .map(|q| format!("({q} OR ref_prefix:{})", quoted(&w.to_lowercase()).unwrap_or_default())),
                    (atom, _) => match atom {
                        Atom::Word(w) | Atom::Phrase(w) => quoted(w),
                        Atom::Dates(from, to) => Some(format!("[{} TO {}]", render_date(*from), render_date(*to))),
                        Atom::Numbers(low, high) => Some(format!("[{low} TO {high}]")),
                        Atom::Group(inner) => {
                            let inner = render_items(inner);
                            (!inner.is_empty()).then(|| format!("({inner})"))
                        }
                        Atom::Synonyms(terms) => {
                            let terms: Vec<String> = terms.iter().filter_map(|t| quoted(t)).collect();
                            (!terms.is_empty()).then(|| format!("({})", terms.join(" OR ")))
                        }
                    },
                };
                let Some(body) = body else { continue };
                let field = field
                    .as_ref()
                    .map(|f| format!("{}:", f.engine_name()))
                    .unwrap_or_default();
                let sign = match occur {
                    Occur::Default => "",
                    Occur::Must => "+",
                    Occur::Not => "-",
                };
                if or_pending {
                    parts.push("OR".to_owned());
                    or_pending = false;
                }
                parts.push(format!("{sign}{field}{body}"));
            }
        }
    }
    parts.join(" ")
}

impl Query {
    /// The query in the engine's syntax; empty when nothing is left to
    /// look for (every record matches).
    pub fn render(&self) -> String {
        render_items(&self.items)
    }

    /// The query's top-level clauses, each rendered alone with what it
    /// requires, when the engine should weigh words rather than require
    /// them all: three free words or more and no `OR` at the top. Words
    /// and phrases written plainly may be missing (see [`should_match`]);
    /// `+word`, `field:value` and groups are required; `-word` excluded.
    pub fn weighed_clauses(&self) -> Option<Vec<(Occur, String)>> {
        let mut out = Vec::new();
        let mut free = 0;
        for item in &self.items {
            let Item::Clause { occur, field, atom } = item else {
                return None;
            };
            let alone = render_items(&[Item::Clause {
                occur: Occur::Default,
                field: field.clone(),
                atom: atom.clone(),
            }]);
            if alone.is_empty() {
                continue;
            }
            let occur = match (occur, field, atom) {
                (Occur::Default, None, Atom::Word(_) | Atom::Phrase(_) | Atom::Synonyms(_)) => {
                    free += 1;
                    Occur::Default
                }
                (Occur::Not, _, _) => Occur::Not,
                _ => Occur::Must,
            };
            out.push((occur, alone));
        }
        (free >= 3).then_some(out)
    }

    /// The query with every word, phrase or run of words that one of
    /// `groups` names (whatever its case and accents) replaced by the
    /// whole group: a search for `DCM` finds `délibération du conseil
    /// municipal`. Applied when searching, so a new list needs no
    /// reindexing.
    pub fn with_synonyms(self, groups: &[Vec<String>]) -> Query {
        if groups.is_empty() {
            return self;
        }
        Query {
            items: expand(self.items, groups),
        }
    }

    /// When the query only excludes (`-chauffage`, `NOT a NOT b`): what it
    /// excludes, as one query of alternatives, so that the engine can look
    /// for every record but those. Engines refuse a query with nothing to
    /// look for.
    pub fn exclusions_only(&self) -> Option<String> {
        let mut excluded = Vec::new();
        for item in &self.items {
            match item {
                Item::Clause {
                    occur: Occur::Not,
                    field,
                    atom,
                } => {
                    excluded.push(Item::Clause {
                        occur: Occur::Default,
                        field: field.clone(),
                        atom: atom.clone(),
                    });
                    excluded.push(Item::Or);
                }
                Item::Or => {}
                Item::Clause { .. } => return None,
            }
        }
        let rendered = render_items(&excluded);
        (!rendered.is_empty()).then_some(rendered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rendered(text: &str) -> String {
        parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}")).render()
    }

    #[test]
    fn punctuation_is_read_as_words() {
        assert_eq!(rendered("convertir l'encodage"), "convertir \"l'encodage\"");
        assert_eq!(rendered("utilitaire d’archivage"), "utilitaire \"d’archivage\"");
        assert_eq!(rendered("Objet : facture"), "Objet facture");
        assert_eq!(rendered("factures 2024/03"), "factures \"2024/03\"");
        assert_eq!(
            rendered("FIN-FAC-2024-000001"),
            "(\"FIN-FAC-2024-000001\" OR ref_prefix:\"fin-fac-2024-000001\")"
        );
        assert_eq!(rendered("budget (primitif"), "budget (primitif)");
        assert_eq!(rendered("budget) primitif"), "budget primitif");
        assert_eq!(rendered("\"budget primitif"), "\"budget primitif\"");
        assert_eq!(rendered("« budget primitif »"), "\"budget primitif\"");
        assert_eq!(rendered("facture AND ("), "facture");
        assert_eq!(rendered("- + OR && ||"), "");
        assert_eq!(
            rendered("a*b? c~2 d^3 {e} [f] g\\h"),
            "\"a*b?\" \"c~2\" \"d^3\" \"{e}\" \"[f]\" \"g h\""
        );
        assert_eq!(rendered("and or not"), "\"and\" \"or\" \"not\"");
        assert_eq!(
            rendered("rendez-vous à 10:30"),
            "(\"rendez-vous\" OR ref_prefix:\"rendez-vous\") à \"10:30\""
        );
        assert_eq!(rendered("voir http://exemple.fr"), "voir \"http://exemple.fr\"");
        assert_eq!(rendered("C:\\Documents"), "\"C:  Documents\"".replace("  ", " "));
    }

    #[test]
    fn operators_written_as_operators_are_honoured() {
        assert_eq!(rendered("facture -chauffage"), "facture -chauffage");
        assert_eq!(rendered("facture NOT chauffage"), "facture -chauffage");
        assert_eq!(rendered("école OR chauffage"), "école OR chauffage");
        assert_eq!(rendered("école OU chauffage"), "école OR chauffage");
        assert_eq!(rendered("OR école OR OR"), "école");
        assert_eq!(rendered("+facture -(chauffage OR gaz)"), "+facture -(chauffage OR gaz)");
        assert_eq!(rendered("titre:budget"), "title:budget");
        assert_eq!(rendered("Titre: \"budget primitif\""), "title:\"budget primitif\"");
        assert_eq!(rendered("nœud:FIN type:facture"), "node:FIN type:facture");
        assert_eq!(
            rendered("ref:FIN-FAC-2024-000001"),
            "ref_prefix:\"fin-fac-2024-000001\""
        );
        assert_eq!(
            reference_prefixes("FIN-FAC-2024-000001"),
            ["fin", "fin-fac", "fin-fac-2024", "fin-fac-2024-000001"]
        );
        // Days as the index keeps them: 2024-03-01 is day 19,783 after
        // 1970-01-01, written as that many seconds (05:29:43).
        assert_eq!(
            rendered("date:2024-03"),
            "date:[1970-01-01T05:29:43Z TO 1970-01-01T05:30:13Z]"
        );
        assert_eq!(
            rendered("date:[2020 TO 2021-06]"),
            "date:[1970-01-01T05:04:22Z TO 1970-01-01T05:13:28Z]"
        );
        assert_eq!(
            rendered("date:[* TO 2020]"),
            "date:[1969-12-23T16:13:58Z TO 1970-01-01T05:10:27Z]"
        );
    }

    #[test]
    fn several_free_words_are_weighed_not_all_required() {
        let q = |t: &str| parse(t).unwrap().weighed_clauses();
        assert_eq!(q("facture boulangerie"), None, "two words: both required");
        assert_eq!(q("a OR b c d"), None, "alternatives are the engine's to weigh");
        assert_eq!(
            q("facture \"pain frais\" boulangerie +2024 -gaz type:facture").unwrap(),
            vec![
                (Occur::Default, "facture".to_owned()),
                (Occur::Default, "\"pain frais\"".to_owned()),
                (Occur::Default, "boulangerie".to_owned()),
                (Occur::Must, "2024".to_owned()),
                (Occur::Not, "gaz".to_owned()),
                (Occur::Must, "type:facture".to_owned()),
            ]
        );
        assert_eq!([1, 2, 3, 4, 5, 8, 12].map(should_match), [1, 2, 2, 3, 4, 6, 9]);
    }

    #[test]
    fn the_plans_fields_are_searched_by_name_numbers_by_value_and_range() {
        let fields = [
            RecordField {
                name: "fournisseur".into(),
                numeric: false,
            },
            RecordField {
                name: "montant_ttc".into(),
                numeric: true,
            },
        ];
        let r = |t: &str| parse_with(t, &fields).unwrap_or_else(|e| panic!("{t}: {e}")).render();
        assert_eq!(r("fournisseur:Dupain"), "fields.fournisseur:Dupain");
        assert_eq!(
            r("Fournisseur: \"Boulangerie Dupain\""),
            "fields.fournisseur:\"Boulangerie Dupain\""
        );
        assert_eq!(r("montant_ttc:1200,50"), "fields.montant_ttc:[1200.5 TO 1200.5]");
        assert_eq!(r("montant_ttc:[1000 TO 5000]"), "fields.montant_ttc:[1000 TO 5000]");
        assert_eq!(r("montant_ttc:[* TO 99,9]"), "fields.montant_ttc:[* TO 99.9]");
        let err = parse_with("montant_ttc:cher", &fields).unwrap_err();
        assert!(err.to_string().contains("n'est pas un nombre"), "{err}");
        let err = parse_with("siret:123", &fields).unwrap_err();
        assert!(err.to_string().contains("date, fournisseur, montant_ttc"), "{err}");
    }

    #[test]
    fn synonyms_stand_for_each_other() {
        let groups = vec![
            vec!["DCM".to_owned(), "délibération du conseil municipal".to_owned()],
            vec!["BP".to_owned(), "budget primitif".to_owned()],
            vec!["mandat".to_owned(), "mandatement".to_owned()],
        ];
        let r = |t: &str| parse(t).unwrap().with_synonyms(&groups).render();
        assert_eq!(r("dcm 2024"), "(DCM OR \"délibération du conseil municipal\") 2024");
        assert_eq!(
            r("Délibération du Conseil municipal"),
            "(DCM OR \"délibération du conseil municipal\")"
        );
        assert_eq!(r("vote du budget primitif"), "vote du (BP OR \"budget primitif\")");
        assert_eq!(
            r("\"budget primitif\" -mandatement"),
            "(BP OR \"budget primitif\") -(mandat OR mandatement)"
        );
        assert_eq!(r("(bp OR compte)"), "((BP OR \"budget primitif\") OR compte)");
        assert_eq!(r("titre:mandat"), "title:mandat", "a field keeps its word");
        assert!(
            parse("BP budget primitif vote")
                .unwrap()
                .with_synonyms(&groups)
                .weighed_clauses()
                .is_some()
        );
    }

    #[test]
    fn a_query_that_only_excludes_says_what_it_excludes() {
        let q = |t: &str| parse(t).unwrap().exclusions_only();
        assert_eq!(q("-chauffage NOT gaz").as_deref(), Some("chauffage OR gaz"));
        assert_eq!(q("NOT NOT facture").as_deref(), Some("facture"));
        assert_eq!(q("facture -chauffage"), None);
        assert_eq!(q(""), None);
    }

    #[test]
    fn misused_operators_are_refused_in_french_with_where_and_how() {
        let err = parse("facture nosuchfield:x").unwrap_err();
        assert_eq!(
            err,
            QueryError::UnknownField {
                name: "nosuchfield".into(),
                at: 9,
                record_fields: Vec::new(),
            }
        );
        let message = err.to_string();
        assert!(
            message.contains("caractère 9") && message.contains("titre, texte"),
            "{message}"
        );
        let err = parse("date:[2020 TO").unwrap_err();
        assert_eq!(err, QueryError::UnclosedRange { at: 1 });
        assert!(err.to_string().contains("date:[2024-01-01 TO 2024-06-30]"));
        assert!(matches!(parse("date:hier"), Err(QueryError::BadDate { .. })));
        assert!(matches!(parse("date:2024-13"), Err(QueryError::BadDate { .. })));
    }

    #[test]
    fn the_work_a_query_asks_for_is_bounded() {
        let deep = format!("{}x{}", "(".repeat(2100), ")".repeat(2100));
        assert_eq!(parse(&deep), Err(QueryError::TooLong { max: QUERY_MAX_CHARS }));
        let deep = format!("{}x", "(".repeat(DEPTH_MAX + 1));
        assert_eq!(parse(&deep), Err(QueryError::TooDeep { max: DEPTH_MAX }));
        assert!(parse(&format!("{}x", "(".repeat(DEPTH_MAX))).is_ok());
        let many = vec!["mot"; TERMS_MAX + 1].join(" ");
        assert_eq!(parse(&many), Err(QueryError::TooManyTerms { max: TERMS_MAX }));
        assert!(parse(&vec!["mot"; TERMS_MAX].join(" ")).is_ok());
        assert!(parse(&"x".repeat(QUERY_MAX_CHARS)).is_ok());
    }

    proptest! {
        #[test]
        fn any_text_is_read_or_refused_never_panics(text in "\\PC{0,300}") {
            if let Ok(query) = parse(&text) {
                let rendered = query.render();
                // What is rendered reads back as itself.
                prop_assert_eq!(parse(&rendered).map(|q| q.render()), Ok(rendered));
            }
        }

        #[test]
        fn punctuation_alone_never_refuses_a_query(text in "([a-zàéèêç' ’;,.!?()\"«»/-]| : ){0,200}") {
            // Refused only for going over a bound, never for punctuation.
            prop_assert!(parse(&text).map_err(|e| e.is_limit()) != Err(false), "{text:?}");
        }
    }
}
