//! The naming engine: a record's reference and its canonical file name.
//!
//! For now every node uses the default reference template
//! `{node}-{year}-{seq:06}` with one counter per node and year; the
//! classification plan will bring per-node templates. Canonical file names
//! are `<reference>.<extension>`, where the extension comes from the original
//! name when it is safe, else from the media type. This module never touches
//! a file: names are data, and original names are never used as paths.

use super::record::{NodeCode, Reference};
use std::fmt;

/// A naming template such as `{node}-{year}-{seq:06}` or
/// `{date:%Y}/{node}/{reference}_{title|slug|max:60}.{ext}`: literal text
/// and placeholders `{name[@period][:format][|filter[:argument]]...}`.
/// Counters take a period (`{seq@year}` restarts each year); formats are
/// zero-padding widths for numbers (`06`) or strftime patterns for dates
/// (`%Y`); filters are `slug`, `upper`, `max:N` and `default:X`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

/// A piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Placeholder(Placeholder),
}

/// A placeholder of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    /// What it names: a built-in (`node`, `year`, `seq`, `date`,
    /// `reference`, `title`, `ext`, `service`, `type`) or a field.
    pub name: String,
    /// The counter period (`year`), for `seq`.
    pub period: Option<String>,
    /// The format: a width such as `06`, or a strftime pattern.
    pub format: Option<String>,
    /// Filters, in order, with their argument.
    pub filters: Vec<(String, Option<String>)>,
}

/// A template that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template {template:?}: {problem}")]
pub struct TemplateError {
    /// The template.
    pub template: String,
    /// What is wrong.
    pub problem: String,
}

/// The filters a placeholder may apply, and whether each takes an argument.
const FILTERS: &[(&str, bool)] = &[("slug", false), ("upper", false), ("max", true), ("default", true)];

impl Template {
    /// Parses a template.
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        let fail = |problem: String| TemplateError {
            template: source.to_owned(),
            problem,
        };
        let mut parts = Vec::new();
        let mut rest = source;
        while !rest.is_empty() {
            match rest.find(['{', '}']) {
                None => {
                    parts.push(Part::Literal(rest.to_owned()));
                    break;
                }
                Some(i) if rest[i..].starts_with('}') => {
                    return Err(fail(format!("a '}}' without its '{{' at {:?}", &rest[i..])));
                }
                Some(i) => {
                    if i > 0 {
                        parts.push(Part::Literal(rest[..i].to_owned()));
                    }
                    let close = rest[i..]
                        .find('}')
                        .ok_or_else(|| fail("a '{' is never closed".into()))?;
                    let inner = &rest[i + 1..i + close];
                    if inner.contains('{') {
                        return Err(fail(format!("a '{{' inside a placeholder in {inner:?}")));
                    }
                    parts.push(Part::Placeholder(parse_placeholder(inner).map_err(fail)?));
                    rest = &rest[i + close + 1..];
                }
            }
        }
        if !parts.iter().any(|p| matches!(p, Part::Placeholder(_))) {
            return Err(fail("a template needs at least one placeholder".into()));
        }
        Ok(Template {
            source: source.to_owned(),
            parts,
        })
    }

    /// The placeholders, in order.
    pub fn placeholders(&self) -> impl Iterator<Item = &Placeholder> {
        self.parts.iter().filter_map(|p| match p {
            Part::Placeholder(p) => Some(p),
            Part::Literal(_) => None,
        })
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

fn parse_placeholder(inner: &str) -> Result<Placeholder, String> {
    let mut pieces = inner.split('|');
    let head = pieces.next().unwrap_or_default();
    let (head, format) = match head.split_once(':') {
        Some((h, f)) if !f.is_empty() => (h, Some(f.to_owned())),
        Some(_) => return Err(format!("{{{inner}}}: an empty format after ':'")),
        None => (head, None),
    };
    let (name, period) = match head.split_once('@') {
        Some((n, p)) if !p.is_empty() => (n, Some(p.to_owned())),
        Some(_) => return Err(format!("{{{inner}}}: an empty period after '@'")),
        None => (head, None),
    };
    let name = name.trim();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(format!("{{{inner}}}: {name:?} is not a name"));
    }
    if let Some(p) = &period
        && (name != "seq" || p != "year")
    {
        return Err(format!(
            "{{{inner}}}: only the counter takes a period, and the period is 'year'"
        ));
    }
    if let Some(f) = &format
        && !f.starts_with('%')
        && !f.chars().all(|c| c.is_ascii_digit())
    {
        return Err(format!(
            "{{{inner}}}: {f:?} is neither a width (06) nor a date pattern (%Y)"
        ));
    }
    let mut filters = Vec::new();
    for piece in pieces {
        let (filter, argument) = match piece.split_once(':') {
            Some((f, a)) => (f.trim(), Some(a.to_owned())),
            None => (piece.trim(), None),
        };
        match FILTERS.iter().find(|(name, _)| *name == filter) {
            None => {
                return Err(format!(
                    "{{{inner}}}: unknown filter {filter:?} (slug, upper, max:N, default:X)"
                ));
            }
            Some((_, true)) if argument.is_none() => return Err(format!("{{{inner}}}: {filter} needs an argument")),
            Some((_, false)) if argument.is_some() => return Err(format!("{{{inner}}}: {filter} takes no argument")),
            Some(_) => {}
        }
        if filter == "max"
            && argument
                .as_deref()
                .and_then(|a| a.parse::<usize>().ok())
                .is_none_or(|n| n == 0)
        {
            return Err(format!("{{{inner}}}: max takes a positive number"));
        }
        filters.push((filter.to_owned(), argument));
    }
    Ok(Placeholder {
        name: name.to_owned(),
        period,
        format,
        filters,
    })
}

/// The reference for the `number`th record of `node` in `year`.
pub fn reference(node: &NodeCode, year: i32, number: u64) -> Reference {
    Reference::from_naming(format!("{node}-{year:04}-{number:06}"))
}

/// The longest extension kept from an original file name.
const EXTENSION_MAX: usize = 10;

/// A safe extension taken from an original file name: ASCII letters and
/// digits only, lower-cased, at most [`EXTENSION_MAX`] characters.
pub fn extension_of(filename: &str) -> Option<String> {
    let base = filename.rsplit(['/', '\\']).next().unwrap_or(filename);
    let (stem, ext) = base.rsplit_once('.')?;
    let ok = !stem.is_empty()
        && !ext.is_empty()
        && ext.len() <= EXTENSION_MAX
        && ext.chars().all(|c| c.is_ascii_alphanumeric());
    ok.then(|| ext.to_ascii_lowercase())
}

/// The usual extension of a media type, for content whose original name
/// gives none.
pub fn extension_for_media_type(media_type: &str) -> &'static str {
    let essence = media_type.split(';').next().unwrap_or("").trim();
    match essence {
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        "text/html" => "html",
        "text/xml" | "application/xml" => "xml",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/tiff" => "tif",
        "application/zip" => "zip",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        "application/vnd.oasis.opendocument.text" => "odt",
        "application/vnd.oasis.opendocument.spreadsheet" => "ods",
        "message/rfc822" => "eml",
        _ => "bin",
    }
}

/// The canonical file name of a record's content.
pub fn canonical_filename(reference: &Reference, original: Option<&str>, media_type: &str) -> String {
    let ext = original
        .and_then(extension_of)
        .unwrap_or_else(|| extension_for_media_type(media_type).to_owned());
    format!("{reference}.{ext}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn references_follow_the_default_template() {
        let node = NodeCode::parse("FIN-FAC").unwrap();
        assert_eq!(reference(&node, 2025, 42).as_str(), "FIN-FAC-2025-000042");
        assert_eq!(reference(&node, 2025, 1_234_567).as_str(), "FIN-FAC-2025-1234567");
    }

    #[test]
    fn canonical_names_take_a_safe_extension() {
        let r = Reference::from_naming("ADM-DEL-2024-000001".into());
        assert_eq!(
            canonical_filename(&r, Some("Délib.PDF"), "application/pdf"),
            "ADM-DEL-2024-000001.pdf"
        );
        assert_eq!(
            canonical_filename(&r, Some("../../etc/passwd"), "text/plain"),
            "ADM-DEL-2024-000001.txt"
        );
        assert_eq!(
            canonical_filename(&r, Some("a.p/df"), "application/pdf"),
            "ADM-DEL-2024-000001.pdf"
        );
        assert_eq!(
            canonical_filename(&r, Some(".bashrc"), "x/y"),
            "ADM-DEL-2024-000001.bin"
        );
        assert_eq!(
            canonical_filename(&r, None, "text/plain; charset=utf-8"),
            "ADM-DEL-2024-000001.txt"
        );
    }

    #[test]
    fn templates_parse_or_say_why() {
        let t = Template::parse("{date:%Y}/{node}/{reference}_{title|slug|max:60}.{ext}").unwrap();
        let names: Vec<&str> = t.placeholders().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["date", "node", "reference", "title", "ext"]);
        let seq = Template::parse("{node}-{year}-{seq@year:06}").unwrap();
        let last = seq.placeholders().last().unwrap();
        assert_eq!(
            (last.period.as_deref(), last.format.as_deref()),
            (Some("year"), Some("06"))
        );
        for bad in [
            "plain",
            "{node",
            "node}",
            "{}",
            "{title|shout}",
            "{title|max}",
            "{title|max:0}",
            "{seq@month}",
            "{a:xx}",
            "{a{b}}",
        ] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn template_parsing_never_panics(text in any::<String>()) {
            let _ = Template::parse(&text);
        }

        #[test]
        fn canonical_names_are_always_plain(original in any::<String>()) {
            let r = Reference::from_naming("X-2025-000001".into());
            let name = canonical_filename(&r, Some(&original), "application/octet-stream");
            prop_assert!(name.len() <= 64);
            prop_assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'));
            prop_assert!(!name.contains(".."));
        }
    }
}
