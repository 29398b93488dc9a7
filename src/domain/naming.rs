//! The naming engine: a record's reference and its canonical file name.
//!
//! For now every node uses the default reference template
//! `{node}-{year}-{seq:06}` with one counter per node and year; the
//! classification plan will bring per-node templates. Canonical file names
//! are `<reference>.<extension>`, where the extension comes from the original
//! name when it is safe, else from the media type. This module never touches
//! a file: names are data, and original names are never used as paths.

use chrono::NaiveDate;
use chrono::format::{Item, StrftimeItems};
use std::collections::BTreeMap;
use std::fmt;
use unicode_normalization::UnicodeNormalization;

/// A naming template such as `{node}-{year}-{seq:06}` or
/// `{date:%Y}/{node}/{reference}_{title|slug|max:60}.{ext}`: literal text
/// and placeholders `{name[@period][:format][|filter[:argument]]...}`.
/// Counters take a period (`{seq@year}` restarts each year); formats are
/// zero-padding widths for numbers (`06`) or strftime patterns for dates
/// (`%Y`); filters are `slug` (lower case, no accents, words joined by
/// `-`), `upper`, `max:N` (cut after a whole word) and `default:X`.
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

/// What a template is filled with.
#[derive(Debug, Clone)]
pub struct NamingContext<'a> {
    /// Node code.
    pub node: &'a str,
    /// Counter value.
    pub seq: u64,
    /// The record's date (its year is `{year}`).
    pub date: NaiveDate,
    /// The reference, once known (for file names).
    pub reference: Option<&'a str>,
    /// Title.
    pub title: &'a str,
    /// File extension, without the dot.
    pub ext: &'a str,
    /// Producing service.
    pub service: Option<&'a str>,
    /// Document type.
    pub document_type: Option<&'a str>,
    /// The record's fields.
    pub fields: &'a BTreeMap<String, String>,
}

/// How long names may be: bytes per path segment, characters per path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameBudget {
    /// The most bytes in one segment (file systems allow 255).
    pub segment_bytes: usize,
    /// The most characters in the whole path (Windows tools trip past 260;
    /// 240 leaves room for the folder it is extracted into).
    pub path_chars: usize,
}

impl Default for NameBudget {
    fn default() -> Self {
        NameBudget {
            segment_bytes: 255,
            path_chars: 240,
        }
    }
}

/// A template that cannot be filled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{{{placeholder}}}: {problem}")]
pub struct RenderError {
    /// The placeholder.
    pub placeholder: String,
    /// What is wrong.
    pub problem: String,
}

impl Template {
    /// Fills the template; `title_max` caps the title's characters (the
    /// part shortened first when a name is too long).
    fn fill(&self, ctx: &NamingContext<'_>, title_max: usize) -> Result<String, RenderError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Placeholder(p) => out.push_str(&p.fill(ctx, title_max)?),
            }
        }
        Ok(out)
    }

    /// Fills the template as a reference (no path rules; one segment).
    pub fn render_reference(&self, ctx: &NamingContext<'_>) -> Result<String, RenderError> {
        Ok(safe_segment(&self.fill(ctx, usize::MAX)?, usize::MAX))
    }

    /// Fills the template as a relative path safe on Windows, macOS and
    /// Linux, within `budget`: the title is shortened first, then the
    /// longest segments.
    pub fn render_path(&self, ctx: &NamingContext<'_>, budget: NameBudget) -> Result<String, RenderError> {
        let mut title_max = ctx.title.chars().count();
        loop {
            let path = safe_path(&self.fill(ctx, title_max)?, budget.segment_bytes);
            if path.chars().count() <= budget.path_chars {
                return Ok(path);
            }
            if title_max == 0 {
                return Ok(shorten_path(&path, budget));
            }
            title_max = title_max.saturating_sub((path.chars().count() - budget.path_chars).max(1));
        }
    }
}

impl Placeholder {
    fn fill(&self, ctx: &NamingContext<'_>, title_max: usize) -> Result<String, RenderError> {
        let fail = |problem: String| RenderError {
            placeholder: self.name.clone(),
            problem,
        };
        let textual = ["node", "title", "ext", "reference", "service", "type"].contains(&self.name.as_str());
        if textual && let Some(f) = &self.format {
            return Err(fail(format!("the format {f:?} does not apply to text")));
        }
        let text: String = match self.name.as_str() {
            "node" => ctx.node.to_owned(),
            "title" => ctx.title.chars().take(title_max).collect(),
            "ext" => ctx.ext.to_owned(),
            "reference" => ctx.reference.unwrap_or_default().to_owned(),
            "service" => ctx.service.unwrap_or_default().to_owned(),
            "type" => ctx.document_type.unwrap_or_default().to_owned(),
            "year" => number(i64::from(chrono::Datelike::year(&ctx.date)), self.format.as_deref()).map_err(fail)?,
            "seq" => number(ctx.seq as i64, self.format.as_deref()).map_err(fail)?,
            "date" => date(ctx.date, self.format.as_deref()).map_err(fail)?,
            field => {
                let value = ctx.fields.get(field).cloned().unwrap_or_default();
                match self.format.as_deref() {
                    Some(f) if f.starts_with('%') => {
                        let d = NaiveDate::parse_from_str(&value, "%Y-%m-%d")
                            .map_err(|_| fail(format!("{value:?} is not a date")))?;
                        date(d, Some(f)).map_err(fail)?
                    }
                    Some(f) => {
                        let n: i64 = value
                            .parse()
                            .map_err(|_| fail(format!("« {value} » n'est pas un nombre entier")))?;
                        number(n, Some(f)).map_err(fail)?
                    }
                    None => value,
                }
            }
        };
        let mut text = text;
        for (filter, argument) in &self.filters {
            text = match (filter.as_str(), argument.as_deref()) {
                ("slug", _) => slug(&text),
                ("upper", _) => text.to_uppercase(),
                ("max", Some(n)) => at_most(&text, n.parse().unwrap_or(usize::MAX)),
                ("default", Some(d)) if text.is_empty() => d.to_owned(),
                _ => text,
            };
        }
        Ok(text)
    }
}

fn number(n: i64, format: Option<&str>) -> Result<String, String> {
    match format {
        None => Ok(n.to_string()),
        Some(f) if f.starts_with('%') => Err(format!("{f:?} is a date pattern, and this is a number")),
        Some(f) => {
            let width: usize = f.parse().map_err(|_| format!("{f:?} is not a width"))?;
            Ok(format!("{n:0width$}"))
        }
    }
}

fn date(d: NaiveDate, format: Option<&str>) -> Result<String, String> {
    let pattern = format.unwrap_or("%Y-%m-%d");
    if !pattern.starts_with('%') {
        return Err(format!("{pattern:?} is a width, and this is a date"));
    }
    let items: Vec<Item<'_>> = StrftimeItems::new(pattern).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return Err(format!("{pattern:?} is not a date pattern"));
    }
    Ok(d.format_with_items(items.into_iter()).to_string())
}

/// Lower case, without accents (`é` → `e`, `œ` → `oe`), words joined by
/// `-`: a name every file system, archive format and mail client keeps as
/// it is.
fn slug(text: &str) -> String {
    let mut out = String::new();
    let bare = text
        .nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase);
    for c in bare {
        let spelled = match c {
            'œ' => "oe",
            'æ' => "ae",
            'ß' => "ss",
            _ => "",
        };
        if !spelled.is_empty() {
            out.push_str(spelled);
        } else if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    // Letters without a mark to drop (Hangul, say) come back composed.
    out.trim_end_matches('-').nfc().collect()
}

/// At most `max` characters, cut after a whole word (at a space, `-` or
/// `_`) when one ends in the second half; a single long word is cut where
/// it must.
fn at_most(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let head: String = text.chars().take(max).collect();
    let next_is_break = text.chars().nth(max).is_some_and(|c| matches!(c, ' ' | '-' | '_'));
    if next_is_break {
        return head.trim_end_matches([' ', '-', '_']).to_owned();
    }
    match head.rfind([' ', '-', '_']) {
        Some(cut) if head[..cut].chars().count() * 2 >= max => head[..cut].trim_end_matches([' ', '-', '_']).to_owned(),
        _ => head,
    }
}

/// Names Windows reserves, whatever their extension.
const RESERVED: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9", "LPT1", "LPT2",
    "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// One path segment made safe everywhere: NFC, no control or reserved
/// characters, no reserved name, no leading dot, no trailing dot or space,
/// not empty, at most `max_bytes` bytes.
pub fn safe_segment(raw: &str, max_bytes: usize) -> String {
    let mut s: String = raw
        .nfc()
        .map(|c| match c {
            '<' | '>' | ':' | '"' | '/' | '\\' | '|' | '?' | '*' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    s = s.trim_start_matches(' ').trim_end_matches(['.', ' ']).to_owned();
    let stem = s.split('.').next().unwrap_or("").to_ascii_uppercase();
    if RESERVED.contains(&stem.as_str()) {
        s.insert(0, '_');
    }
    if s.is_empty() || s.chars().all(|c| c == '.') {
        s = "_".to_owned();
    } else if s.starts_with('.') {
        // A leading dot hides a file on Unix.
        s.insert(0, '_');
    }
    if s.len() > max_bytes {
        let mut end = max_bytes.max(1);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s = s.trim_end_matches(['.', ' ']).to_owned();
        if s.is_empty() {
            s = "_".to_owned();
        }
    }
    s
}

/// A relative path made safe segment by segment.
fn safe_path(raw: &str, max_bytes: usize) -> String {
    raw.split(['/', '\\'])
        .filter(|seg| !seg.is_empty())
        .map(|seg| safe_segment(seg, max_bytes))
        .collect::<Vec<_>>()
        .join("/")
}

/// Cuts the longest segments until the path fits (the last resort, once
/// the title is gone).
fn shorten_path(path: &str, budget: NameBudget) -> String {
    let mut segments: Vec<String> = path.split('/').map(str::to_owned).collect();
    while segments.iter().map(|s| s.chars().count()).sum::<usize>() + segments.len().saturating_sub(1)
        > budget.path_chars
    {
        let Some(longest) = segments.iter_mut().max_by_key(|s| s.chars().count()) else {
            break;
        };
        let keep = longest.chars().count().saturating_sub(1);
        if keep == 0 {
            break;
        }
        let cut: String = longest.chars().take(keep).collect();
        *longest = safe_segment(&cut, budget.segment_bytes);
    }
    segments.join("/")
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

/// The reference template of nodes whose plan names none: the node, the
/// year, and a counter that restarts each year.
pub const DEFAULT_REFERENCE: &str = "{node}-{year}-{seq@year:06}";

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

/// The extension a record's content is named with: the original file
/// name's when it is a safe one, else the media type's.
pub fn safe_extension(original: Option<&str>, media_type: &str) -> String {
    original
        .and_then(extension_of)
        .unwrap_or_else(|| extension_for_media_type(media_type).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn references_follow_the_default_template() {
        let t = Template::parse(DEFAULT_REFERENCE).unwrap();
        let fields = BTreeMap::new();
        let ctx = |seq| NamingContext {
            node: "FIN-FAC",
            seq,
            date: NaiveDate::from_ymd_opt(2025, 3, 1).unwrap(),
            reference: None,
            title: "t",
            ext: "pdf",
            service: None,
            document_type: None,
            fields: &fields,
        };
        assert_eq!(t.render_reference(&ctx(42)).unwrap(), "FIN-FAC-2025-000042");
        assert_eq!(t.render_reference(&ctx(1_234_567)).unwrap(), "FIN-FAC-2025-1234567");
    }

    #[test]
    fn canonical_names_take_a_safe_extension() {
        assert_eq!(safe_extension(Some("Délib.PDF"), "application/pdf"), "pdf");
        assert_eq!(safe_extension(Some("../../etc/passwd"), "text/plain"), "txt");
        assert_eq!(safe_extension(Some("a.p/df"), "application/pdf"), "pdf");
        assert_eq!(safe_extension(Some(".bashrc"), "x/y"), "bin");
        assert_eq!(safe_extension(None, "text/plain; charset=utf-8"), "txt");
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

    fn context<'a>(title: &'a str, fields: &'a BTreeMap<String, String>) -> NamingContext<'a> {
        NamingContext {
            node: "FIN-FAC",
            seq: 42,
            date: NaiveDate::from_ymd_opt(2025, 3, 9).unwrap(),
            reference: Some("FIN-FAC-2025-000042"),
            title,
            ext: "pdf",
            service: None,
            document_type: Some("facture"),
            fields,
        }
    }

    #[test]
    fn templates_render_references_and_safe_paths() {
        let fields = BTreeMap::from([
            ("montant".to_owned(), "1234".to_owned()),
            ("signe".to_owned(), "2025-01-02".to_owned()),
        ]);
        let ctx = context("Facture « Dupont & fils » n°12", &fields);
        let r = Template::parse("{node}-{year}-{seq:06}").unwrap();
        assert_eq!(r.render_reference(&ctx).unwrap(), "FIN-FAC-2025-000042");
        let f = Template::parse("{date:%Y}/{node}/{reference}_{title|slug|max:60}.{ext}").unwrap();
        assert_eq!(
            f.render_path(&ctx, NameBudget::default()).unwrap(),
            "2025/FIN-FAC/FIN-FAC-2025-000042_facture-dupont-fils-n-12.pdf"
        );
        // Accents left out, long titles cut after a whole word.
        let long = context(
            "Délibération du conseil municipal approuvant le budget primitif de l'exercice 2025 et ses annexes",
            &fields,
        );
        assert_eq!(
            f.render_path(&long, NameBudget::default()).unwrap(),
            "2025/FIN-FAC/FIN-FAC-2025-000042_deliberation-du-conseil-municipal-approuvant-le-budget.pdf"
        );
        let oe = context("Œuvre d'art — fête à l'école", &fields);
        assert_eq!(
            f.render_path(&oe, NameBudget::default()).unwrap(),
            "2025/FIN-FAC/FIN-FAC-2025-000042_oeuvre-d-art-fete-a-l-ecole.pdf"
        );
        let eighty = "a".repeat(80);
        let one_word = context(&eighty, &fields);
        assert_eq!(
            f.render_path(&one_word, NameBudget::default()).unwrap(),
            format!("2025/FIN-FAC/FIN-FAC-2025-000042_{}.pdf", "a".repeat(60))
        );
        let t = Template::parse("{signe:%d-%m-%Y}_{montant:08}_{absent|default:x}_{type|upper}").unwrap();
        assert_eq!(t.render_reference(&ctx).unwrap(), "02-01-2025_00001234_x_FACTURE");
        assert!(Template::parse("{title:%Y}").unwrap().render_reference(&ctx).is_err());
        assert!(Template::parse("{date:%Q}").unwrap().render_reference(&ctx).is_err());
        assert!(Template::parse("{montant:%Y}").unwrap().render_reference(&ctx).is_err());
        let reserved = Template::parse("{title}.{ext}").unwrap();
        assert_eq!(
            reserved
                .render_path(&context("CON", &fields), NameBudget::default())
                .unwrap(),
            "_CON.pdf"
        );
        assert_eq!(
            reserved
                .render_path(&context("..", &fields), NameBudget::default())
                .unwrap(),
            "_...pdf"
        );
        assert_eq!(
            reserved
                .render_path(&context("a/../b", &fields), NameBudget::default())
                .unwrap(),
            "a/_/b.pdf"
        );
    }

    proptest! {
        #[test]
        fn rendered_paths_are_always_safe_and_short(title in any::<String>()) {
            let fields = BTreeMap::new();
            let ctx = context(&title, &fields);
            let budget = NameBudget { segment_bytes: 255, path_chars: 240 };
            for source in ["{date:%Y}/{node}/{reference}_{title|slug|max:60}.{ext}", "{title}.{ext}", "{node}/{title}/{title}.{ext}"] {
                let path = Template::parse(source).unwrap().render_path(&ctx, budget).unwrap();
                prop_assert!(path.chars().count() <= 240, "{path}");
                for segment in path.split('/') {
                    prop_assert!(!segment.is_empty() && segment.len() <= 255);
                    prop_assert!(!segment.starts_with('.'));
                    prop_assert!(!segment.ends_with('.') && !segment.ends_with(' '));
                    prop_assert!(!segment.chars().any(|c| c.is_control() || "<>:\"\\|?*".contains(c)));
                    let stem = segment.split('.').next().unwrap_or("").to_ascii_uppercase();
                    prop_assert!(!RESERVED.contains(&stem.as_str()));
                }
                let nfc: String = path.nfc().collect();
                prop_assert_eq!(nfc, path.clone());
            }
        }

        #[test]
        fn template_parsing_never_panics(text in any::<String>()) {
            let _ = Template::parse(&text);
        }

        #[test]
        fn safe_extensions_are_always_plain(original in any::<String>()) {
            let name = format!("X-2025-000001.{}", safe_extension(Some(&original), "application/octet-stream"));
            prop_assert!(name.len() <= 64);
            prop_assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'));
            prop_assert!(!name.contains(".."));
        }
    }
}
