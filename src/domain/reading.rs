//! Reading an invoice's fields from its text (the LAD, « lecture
//! automatique de documents », of capture tools): the text of a PDF, or
//! what OCR read on a scan. Each field comes with a confidence, and the
//! checks that make a value trustworthy lower it when they fail: the
//! SIRET's Luhn key, the IBAN's mod-97 key, HT + TVA = TTC. A reading with
//! a missing or doubtful field is one a person should verify.
//!
//! Values are read after a label (`Facture n°`, `Total TTC`, `SIRET`),
//! in the forms French invoices write them (`1 200,00 €`, `14/04/2024`,
//! `123 456 789 00012`), with the slips OCR makes in digits (`O` for `0`,
//! `l` for `1`) forgiven where a number is expected.

use chrono::NaiveDate;
use regex::Regex;
use std::collections::BTreeMap;

/// Below this, a field is doubtful.
pub const TRUSTED: f32 = 0.8;

/// One field read.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadField {
    /// Its name, as the plan's invoice nodes name their fields
    /// (`numero_facture`, `montant_ttc`…).
    pub name: &'static str,
    /// Its value, normalised (`2024-04-14`, `1200.00`, `12345678900012`).
    pub value: String,
    /// How sure the reading is, from 0 to 1.
    pub confidence: f32,
    /// Why it is doubtful, in French, when it is.
    pub doubt: Option<String>,
}

/// What was read of an invoice.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InvoiceReading {
    /// The fields read, in a fixed order.
    pub fields: Vec<ReadField>,
    /// The fields expected and not found.
    pub missing: Vec<&'static str>,
    /// The supplier whose template read it, when one did.
    pub template: Option<String>,
}

/// Every field an invoice reading gives, in its order.
pub const INVOICE_FIELDS: [&str; 9] = [
    "fournisseur",
    "siret",
    "numero_facture",
    "date_facture",
    "montant_ht",
    "montant_tva",
    "montant_ttc",
    "iban",
    "bon_de_commande",
];

/// How sure a value that a template's pattern captured is, once checked.
const TEMPLATE_CONFIDENCE: f32 = 0.95;

/// An archivist's template for one supplier's invoices, as invoice2data
/// keeps them: the keywords that recognise the supplier's invoices (all of
/// them, case and accents aside), values that never change (its SIRET, its
/// IBAN), and where its layout puts the others (a pattern whose group
/// `value`, else its first group, captures the field). What a template
/// reads is checked as the generic reading's is (SIRET and IBAN keys,
/// amounts against each other, a date to come).
#[derive(Debug, Clone)]
pub struct InvoiceTemplate {
    /// The supplier's name, as records will say it.
    pub supplier: String,
    /// Words and expressions every invoice of the supplier has.
    pub keywords: Vec<String>,
    /// Fields whose value is always the same.
    pub values: BTreeMap<String, String>,
    /// Fields read by pattern.
    pub patterns: BTreeMap<String, Regex>,
}

impl PartialEq for InvoiceTemplate {
    fn eq(&self, other: &Self) -> bool {
        self.supplier == other.supplier
            && self.keywords == other.keywords
            && self.values == other.values
            && self.patterns.len() == other.patterns.len()
            && self
                .patterns
                .iter()
                .zip(&other.patterns)
                .all(|((a, ra), (b, rb))| a == b && ra.as_str() == rb.as_str())
    }
}

impl Eq for InvoiceTemplate {}

impl InvoiceTemplate {
    /// Whether a text (folded) is one of the supplier's invoices.
    fn fits(&self, folded_text: &str) -> bool {
        !self.keywords.is_empty() && self.keywords.iter().all(|k| folded_text.contains(&folded(k)))
    }
}

/// Reads an invoice's fields as [`read_invoice`] does, then, when one of
/// `templates` recognises the supplier, with its values and patterns in
/// place of what the generic reading found.
pub fn read_invoice_with(text: &str, today: NaiveDate, templates: &[InvoiceTemplate]) -> InvoiceReading {
    let mut reading = read_invoice(text, today);
    let folded_text = folded(text);
    let Some(template) = templates.iter().find(|t| t.fits(&folded_text)) else {
        return reading;
    };
    let mut found = vec![field("fournisseur", template.supplier.clone(), 1.0, None)];
    for (name, value) in &template.values {
        if let Some(name) = invoice_field(name) {
            found.push(templated(name, value, today, 1.0));
        }
    }
    for (name, pattern) in &template.patterns {
        let Some(name) = invoice_field(name) else { continue };
        let Some(captures) = pattern.captures(text) else {
            continue;
        };
        let captured = captures
            .name("value")
            .or_else(|| captures.get(1))
            .or_else(|| captures.get(0));
        if let Some(raw) = captured {
            found.push(templated(name, raw.as_str(), today, TEMPLATE_CONFIDENCE));
        }
    }
    let amounts_templated = found.iter().any(|f| f.name.starts_with("montant_"));
    for f in found {
        match reading.fields.iter_mut().find(|r| r.name == f.name) {
            Some(r) => *r = f,
            None => reading.fields.push(f),
        }
    }
    if amounts_templated {
        recheck_amounts(&mut reading.fields);
    }
    reading
        .fields
        .sort_by_key(|f| INVOICE_FIELDS.iter().position(|n| *n == f.name));
    reading.missing = EXPECTED
        .into_iter()
        .filter(|name| !reading.fields.iter().any(|f| f.name == *name))
        .collect();
    reading.template = Some(template.supplier.clone());
    reading
}

/// The invoice field named `name`.
fn invoice_field(name: &str) -> Option<&'static str> {
    INVOICE_FIELDS.into_iter().find(|n| *n == name)
}

/// A value a template gives for a field, normalised and checked as the
/// generic reading checks it.
fn templated(name: &'static str, raw: &str, today: NaiveDate, confidence: f32) -> ReadField {
    let doubtful = |value: String, why: &str| field(name, value, 0.3, Some(why.to_owned()));
    match name {
        "siret" => {
            let digits: String = ocr_digits(raw).chars().filter(char::is_ascii_digit).collect();
            if digits.len() == 14 && luhn_valid(&digits) {
                field(name, digits, confidence, None)
            } else {
                doubtful(
                    digits,
                    "le SIRET lu par le modèle n'a pas 14 chiffres ou sa clé ne tombe pas juste (clé de Luhn)",
                )
            }
        }
        "iban" => {
            let compact: String = raw.split_whitespace().collect::<String>().to_uppercase();
            if iban_valid(&compact) {
                field(name, compact, confidence, None)
            } else {
                doubtful(
                    compact,
                    "la clé de l'IBAN lu par le modèle ne tombe pas juste (modulo 97)",
                )
            }
        }
        "date_facture" => match date_in(raw, today) {
            Some((d, false)) => field(name, d.format("%Y-%m-%d").to_string(), confidence, None),
            Some((d, true)) => field(
                name,
                d.format("%Y-%m-%d").to_string(),
                0.2,
                Some("la date lue est à venir : elle est mal lue".into()),
            ),
            None => doubtful(raw.trim().to_owned(), "le modèle lit ici autre chose qu'une date"),
        },
        n if n.starts_with("montant_") => match amount_in(raw) {
            Some(cents) => field(name, cents_text(cents), confidence, None),
            None => doubtful(raw.trim().to_owned(), "le modèle lit ici autre chose qu'un montant"),
        },
        _ => field(name, raw.trim().to_owned(), confidence, None),
    }
}

/// HT + TVA = TTC again, after a template gave some of them.
fn recheck_amounts(fields: &mut [ReadField]) {
    let cents = |name: &str| fields.iter().find(|f| f.name == name).and_then(|f| amount_in(&f.value));
    let (Some(ht), Some(tva), Some(ttc)) = (cents("montant_ht"), cents("montant_tva"), cents("montant_ttc")) else {
        return;
    };
    if (ht + tva - ttc).abs() > 1 {
        for f in fields.iter_mut().filter(|f| f.name.starts_with("montant_")) {
            f.confidence = f.confidence.min(0.4);
            f.doubt = Some(
                "les montants ne s'accordent pas : HT + TVA ne font pas le TTC ; l'un d'eux est mal lu".to_owned(),
            );
        }
    }
}

impl InvoiceReading {
    /// A field's value.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|f| f.name == name).map(|f| f.value.as_str())
    }

    /// A field.
    pub fn field(&self, name: &str) -> Option<&ReadField> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Whether a person should verify it: a field missing or doubtful
    /// (the supplier's name counts only without a SIRET whose key holds,
    /// which names the supplier surely).
    pub fn needs_verification(&self) -> bool {
        let identified = self.field("siret").is_some_and(|f| f.confidence >= TRUSTED);
        !self.missing.is_empty()
            || self
                .fields
                .iter()
                .any(|f| f.confidence < TRUSTED && !(identified && f.name == "fournisseur"))
    }

    /// The lowest confidence (0 when nothing was read).
    pub fn confidence(&self) -> f32 {
        if self.fields.is_empty() {
            return 0.0;
        }
        let lowest = self.fields.iter().map(|f| f.confidence).fold(1.0, f32::min);
        if self.missing.is_empty() {
            lowest
        } else {
            lowest.min(0.5)
        }
    }
}

/// The fields every invoice has.
const EXPECTED: [&str; 3] = ["numero_facture", "date_facture", "montant_ttc"];

/// Reads an invoice's fields from its text; `today` bounds its date.
pub fn read_invoice(text: &str, today: NaiveDate) -> InvoiceReading {
    // OCR and PDF texts alike: one space for any run of blanks on a line.
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .take(2_000)
        .collect();
    let mut fields = Vec::new();
    if let Some(f) = supplier(&lines) {
        fields.push(f);
    }
    if let Some(f) = siret(&lines) {
        fields.push(f);
    }
    if let Some(f) = invoice_number(&lines) {
        fields.push(f);
    }
    if let Some(f) = invoice_date(&lines, today) {
        fields.push(f);
    }
    fields.extend(amounts(&lines));
    if let Some(f) = iban(&lines) {
        fields.push(f);
    }
    if let Some(f) = order_number(&lines) {
        fields.push(f);
    }
    let missing = EXPECTED
        .into_iter()
        .filter(|name| !fields.iter().any(|f: &ReadField| f.name == *name))
        .collect();
    InvoiceReading {
        fields,
        missing,
        template: None,
    }
}

fn field(name: &'static str, value: String, confidence: f32, doubt: Option<String>) -> ReadField {
    ReadField {
        name,
        value,
        confidence,
        doubt,
    }
}

/// Lower case without accents, for finding labels.
fn folded(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// What follows the first of `labels` on a line (after `:`, `n°`, `no`…),
/// with the line's index; the next line when the label ends its line.
fn after_label<'a>(lines: &'a [String], labels: &[&str]) -> Option<(usize, &'a str)> {
    for (i, line) in lines.iter().enumerate() {
        let low = folded(line);
        for label in labels {
            // Folding keeps one char per char of these ASCII-bound lines
            // only when the line has no accent: find the label's place in
            // characters, then cut the original there.
            let Some(at) = low.find(label) else { continue };
            let chars_before = low[..at].chars().count();
            let label_chars = label.chars().count();
            let rest: String = line.chars().skip(chars_before + label_chars).collect();
            let cut = line.len() - rest.len();
            let rest = &line[cut..];
            let rest = rest.trim_start_matches(|c: char| {
                c.is_whitespace() || matches!(c, ':' | '°' | '.' | '#' | '-' | '=' | 'º')
            });
            let rest = rest
                .strip_prefix("n°")
                .or_else(|| rest.strip_prefix("N°"))
                .or_else(|| rest.strip_prefix("No "))
                .or_else(|| rest.strip_prefix("no "))
                .unwrap_or(rest)
                .trim_start_matches(|c: char| c.is_whitespace() || matches!(c, ':' | '°'));
            if !rest.is_empty() {
                return Some((i, rest));
            }
            if let Some(next) = lines.get(i + 1) {
                return Some((i + 1, next.as_str()));
            }
        }
    }
    None
}

/// The supplier: a line naming a company form (SARL, SAS…), else the
/// first line; never sure.
fn supplier(lines: &[String]) -> Option<ReadField> {
    const FORMS: [&str; 8] = ["sarl", "sas", "sasu", "eurl", "sa", "scop", "sci", "snc"];
    let named = lines.iter().take(15).find(|l| {
        folded(l)
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| FORMS.contains(&w))
    });
    match named {
        Some(line) => Some(field(
            "fournisseur",
            line.clone(),
            0.7,
            Some("le fournisseur est lu sur la ligne qui nomme une forme de société".into()),
        )),
        None => lines.first().map(|line| {
            field(
                "fournisseur",
                line.clone(),
                0.4,
                Some("le fournisseur est supposé être la première ligne".into()),
            )
        }),
    }
}

/// Digits of `text` where OCR may have read `O`, `o` for `0`, `l`, `I`
/// for `1`, `S` for `5`, `B` for `8`, keeping spaces, dots and commas.
fn ocr_digits(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'O' | 'o' => '0',
            'l' | 'I' | '|' => '1',
            'S' => '5',
            'B' => '8',
            other => other,
        })
        .collect()
}

/// Whether `digits` pass the Luhn key (SIREN, SIRET; La Poste's
/// establishments, SIREN 356000000, use the sum of digits modulo 5).
pub fn luhn_valid(digits: &str) -> bool {
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return false;
    }
    if digits.len() == 14 && digits.starts_with("356000000") {
        let sum: u32 = digits.chars().filter_map(|c| c.to_digit(10)).sum();
        return sum.is_multiple_of(5);
    }
    super::identity::luhn(digits)
}

/// The SIRET: 14 digits after `SIRET` (spaces allowed), else any 14-digit
/// run; its key checked.
fn siret(lines: &[String]) -> Option<ReadField> {
    let labelled = after_label(lines, &["siret"]).and_then(|(_, rest)| digits_run(&ocr_digits(rest), 14));
    let (value, labelled) = match labelled {
        Some(v) => (v, true),
        None => (
            lines.iter().find_map(|l| {
                let low = folded(l);
                (low.contains("siret") || low.contains("siren") || low.contains("rcs"))
                    .then(|| digits_run(&ocr_digits(l), 14))
                    .flatten()
            })?,
            false,
        ),
    };
    if luhn_valid(&value) {
        Some(field("siret", value, if labelled { 0.95 } else { 0.85 }, None))
    } else {
        Some(field(
            "siret",
            value,
            0.3,
            Some("la clé du SIRET ne tombe pas juste (clé de Luhn) : un chiffre est mal lu ou faux".into()),
        ))
    }
}

/// The first run of exactly `n` digits in `text`, spaces between groups
/// of digits allowed.
fn digits_run(text: &str, n: usize) -> Option<String> {
    let mut run = String::new();
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
            pending_space = false;
        } else if (c == ' ' || c == '.') && !run.is_empty() && !pending_space {
            pending_space = true;
        } else {
            if run.len() == n {
                return Some(run);
            }
            run.clear();
            pending_space = false;
        }
        if run.len() > n {
            run.clear();
        }
    }
    (run.len() == n).then_some(run)
}

/// The invoice's number: after `Facture n°`, `N° de facture`…
fn invoice_number(lines: &[String]) -> Option<ReadField> {
    let (_, rest) = after_label(
        lines,
        &[
            "numero de facture",
            "n° de facture",
            "no de facture",
            "facture n°",
            "facture no ",
            "facture n ",
            "facture numero",
            "invoice no",
        ],
    )?;
    let value: String = rest
        .split_whitespace()
        .next()?
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_owned();
    if value.is_empty() || !value.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(field("numero_facture", value, 0.9, None))
}

/// The date `text` gives (read as `dating` reads documents' dates, OCR's
/// slips in digits forgiven), and whether it is still to come.
fn date_in(text: &str, today: NaiveDate) -> Option<(NaiveDate, bool)> {
    let text: String = text
        .split(' ')
        .map(|w| {
            if w.chars().filter(char::is_ascii_digit).count() >= 2 {
                ocr_digits(w)
            } else {
                w.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(read) = super::dating::date_in_text(&text, today) {
        return Some((read.date, false));
    }
    let far = NaiveDate::from_ymd_opt(9999, 12, 31)?;
    super::dating::date_in_text(&text, far).map(|read| (read.date, true))
}

/// The invoice's date: after `Date de facture`, `Date :`, `Facturé le`;
/// never after today.
fn invoice_date(lines: &[String], today: NaiveDate) -> Option<ReadField> {
    let ((found, to_come), labelled) = match after_label(
        lines,
        &[
            "date de facture",
            "date de facturation",
            "date d'emission",
            "facture le",
            "date :",
            "date",
        ],
    )
    .and_then(|(_, rest)| date_in(rest, today))
    {
        Some(d) => (d, true),
        None => (lines.iter().find_map(|l| date_in(l, today))?, false),
    };
    let value = found.format("%Y-%m-%d").to_string();
    if to_come {
        return Some(field(
            "date_facture",
            value,
            0.2,
            Some("la date lue est à venir : elle est mal lue".into()),
        ));
    }
    Some(if labelled {
        field("date_facture", value, 0.9, None)
    } else {
        field(
            "date_facture",
            value,
            0.6,
            Some("la date n'est précédée d'aucune étiquette (« Date de facture »)".into()),
        )
    })
}

/// An amount as French invoices write it: `1 200,00`, `1.200,00`,
/// `1200.00`, `1 200 €`; in cents.
pub fn amount_in(text: &str) -> Option<i64> {
    let text = ocr_digits(text);
    let start = text.find(|c: char| c.is_ascii_digit() || c == '-')?;
    let mut raw = String::new();
    for c in text[start..].chars() {
        if c.is_ascii_digit() || matches!(c, ',' | '.' | ' ' | '\u{a0}' | '\u{202f}' | '-') {
            raw.push(c);
        } else {
            break;
        }
    }
    let negative = raw.trim_start().starts_with('-');
    let kept: String = raw
        .chars()
        .filter(|c| c.is_ascii_digit() || matches!(c, ',' | '.'))
        .collect();
    // The last separator followed by one or two digits is the decimal one
    // (three make a thousands group: `1.200`).
    let (whole, cents) = match kept.rfind([',', '.']) {
        Some(at) if (1..=2).contains(&(kept.len() - at - 1)) => (&kept[..at], format!("{:0<2}", &kept[at + 1..])),
        _ => (kept.as_str(), "00".to_owned()),
    };
    let whole: String = whole.chars().filter(char::is_ascii_digit).collect();
    if whole.is_empty() || whole.len() > 12 {
        return None;
    }
    let value = whole.parse::<i64>().ok()? * 100 + cents.parse::<i64>().ok()?;
    Some(if negative { -value } else { value })
}

fn cents_text(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    format!("{sign}{}.{:02}", c / 100, c % 100)
}

/// Totals HT, TVA and TTC, checked against each other.
fn amounts(lines: &[String]) -> Vec<ReadField> {
    let read = |labels: &[&str]| after_label(lines, labels).and_then(|(_, rest)| amount_in(rest));
    let ht = read(&[
        "total ht",
        "montant ht",
        "total hors taxes",
        "montant hors taxes",
        "base ht",
    ]);
    let tva = read(&[
        "total tva",
        "montant tva",
        "montant de la tva",
        "tva 20",
        "tva 10",
        "tva 5,5",
        "tva :",
        "tva",
    ]);
    let ttc = read(&[
        "total ttc",
        "montant ttc",
        "net a payer",
        "total a payer",
        "montant a payer",
    ]);
    let consistent = match (ht, tva, ttc) {
        (Some(h), Some(t), Some(c)) => Some((h + t - c).abs() <= 1),
        (Some(h), None, Some(c)) => Some(c >= h),
        _ => None,
    };
    let doubt = (consistent == Some(false))
        .then(|| "les montants ne s'accordent pas : HT + TVA ne font pas le TTC ; l'un d'eux est mal lu".to_owned());
    let confidence = match consistent {
        Some(true) => 0.95,
        Some(false) => 0.4,
        None => 0.75,
    };
    let mut out = Vec::new();
    for (name, value) in [("montant_ht", ht), ("montant_tva", tva), ("montant_ttc", ttc)] {
        if let Some(v) = value {
            out.push(field(name, cents_text(v), confidence, doubt.clone()));
        }
    }
    out
}

/// Whether an IBAN passes its mod-97 key.
pub fn iban_valid(iban: &str) -> bool {
    let iban: String = iban
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    if iban.len() < 15 || iban.len() > 34 || !iban.chars().all(|c| c.is_ascii_alphanumeric()) {
        return false;
    }
    let rearranged = format!("{}{}", &iban[4..], &iban[..4]);
    let mut remainder: u32 = 0;
    for c in rearranged.chars() {
        let value = match c.to_digit(36) {
            Some(v) => v,
            None => return false,
        };
        let digits = if value >= 10 { 100 } else { 10 };
        remainder = (remainder * digits + value) % 97;
    }
    remainder == 1
}

/// The IBAN: after `IBAN`, its key checked.
fn iban(lines: &[String]) -> Option<ReadField> {
    let (_, rest) = after_label(lines, &["iban"])?;
    let compact: String = rest
        .split_whitespace()
        .take_while(|w| w.chars().all(|c| c.is_ascii_alphanumeric()))
        .collect::<String>()
        .to_uppercase();
    let candidate: String = compact.chars().take(34).collect();
    if candidate.len() < 15 {
        return None;
    }
    // The BIC often follows on the same line: keep the longest valid prefix.
    let valid = (15..=candidate.len())
        .rev()
        .map(|n| &candidate[..n])
        .find(|c| iban_valid(c));
    Some(match valid {
        Some(v) => field("iban", v.to_owned(), 0.95, None),
        None => field(
            "iban",
            candidate,
            0.3,
            Some("la clé de l'IBAN ne tombe pas juste (modulo 97) : un caractère est mal lu ou faux".into()),
        ),
    })
}

/// The purchase order or engagement number.
fn order_number(lines: &[String]) -> Option<ReadField> {
    let (_, rest) = after_label(
        lines,
        &[
            "bon de commande",
            "n° de commande",
            "numero de commande",
            "commande n°",
            "engagement",
        ],
    )?;
    let value = rest
        .split_whitespace()
        .next()?
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_owned();
    (!value.is_empty() && value.chars().any(|c| c.is_ascii_digit()))
        .then(|| field("bon_de_commande", value, 0.85, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 6, 1).expect("a date")
    }

    const INVOICE: &str = "Papeterie Dupont SARL
12 rue des Lilas, 33000 Bordeaux
SIRET : 732 829 320 00074
FACTURE N° FA-2024-0117
Date de facture : 14/04/2024
Bon de commande n° BC-2024-031
Désignation Qté Prix
Ramettes A4 10 4,20
Total HT 1 000,00 €
TVA 20 % 200,00 €
Total TTC 1 200,00 €
IBAN : FR76 3000 6000 0112 3456 7890 189 BIC AGRIFRPP
";

    /// A baker's invoice in a layout the generic reading does not know.
    const BAKER: &str = "Au Bon Pain\nMaison fondée en 1921\nRéf. pièce BD/2024/77 du 03/05/2024\n\
                         Pains pour la cantine\nMontant hors taxe 400,00\nTaxe 80,00\nÀ régler 480,00 €\n";

    fn baker(total_pattern: &str) -> InvoiceTemplate {
        InvoiceTemplate {
            supplier: "Boulangerie Au Bon Pain".into(),
            keywords: vec!["au bon pain".into(), "Maison fondee en 1921".into()],
            values: BTreeMap::from([("siret".to_owned(), "732 829 320 00074".to_owned())]),
            patterns: BTreeMap::from([
                (
                    "numero_facture".to_owned(),
                    Regex::new(r"Réf\. pièce (?P<value>\S+)").unwrap(),
                ),
                (
                    "date_facture".to_owned(),
                    Regex::new(r"Réf\. pièce \S+ du (\S+)").unwrap(),
                ),
                ("montant_ht".to_owned(), Regex::new(r"hors taxe ([0-9 ,]+)").unwrap()),
                ("montant_tva".to_owned(), Regex::new(r"Taxe ([0-9 ,]+)").unwrap()),
                ("montant_ttc".to_owned(), Regex::new(total_pattern).unwrap()),
            ]),
        }
    }

    #[test]
    fn a_suppliers_template_reads_what_the_generic_reading_cannot() {
        let generic = read_invoice(BAKER, today());
        assert!(generic.needs_verification(), "{generic:?}");
        let templates = [baker(r"À régler ([0-9 ,]+)")];
        let read = read_invoice_with(BAKER, today(), &templates);
        assert_eq!(read.template.as_deref(), Some("Boulangerie Au Bon Pain"));
        assert_eq!(read.value("fournisseur"), Some("Boulangerie Au Bon Pain"));
        assert_eq!(read.value("siret"), Some("73282932000074"));
        assert_eq!(read.value("numero_facture"), Some("BD/2024/77"));
        assert_eq!(read.value("date_facture"), Some("2024-05-03"));
        assert_eq!(read.value("montant_ttc"), Some("480.00"));
        assert!(read.missing.is_empty(), "{read:?}");
        assert!(!read.needs_verification(), "{read:?}");
        let order: Vec<&str> = read.fields.iter().map(|f| f.name).collect();
        assert_eq!(order[..3], ["fournisseur", "siret", "numero_facture"]);
        // Another supplier's text: the template does not apply.
        assert_eq!(read_invoice_with(INVOICE, today(), &templates).template, None);
    }

    #[test]
    fn what_a_template_reads_is_checked_like_the_rest() {
        // A pattern that catches the wrong figure: the totals disagree.
        let wrong = read_invoice_with(BAKER, today(), &[baker(r"fondée en ([0-9]+)")]);
        let total = wrong.field("montant_ttc").expect("read");
        assert_eq!(total.value, "1921.00");
        assert!(total.confidence < TRUSTED && wrong.needs_verification(), "{wrong:?}");
        // A fixed SIRET whose key fails is doubtful, not trusted.
        let mut bad = baker(r"À régler ([0-9 ,]+)");
        bad.values.insert("siret".into(), "732 829 320 00075".into());
        let read = read_invoice_with(BAKER, today(), &[bad]);
        assert!(read.field("siret").is_some_and(|f| f.confidence < TRUSTED), "{read:?}");
        // A template without keywords recognises nothing.
        let mut none = baker(r"À régler ([0-9 ,]+)");
        none.keywords.clear();
        assert_eq!(read_invoice_with(BAKER, today(), &[none]).template, None);
    }

    #[test]
    fn a_typed_invoice_is_read_whole_and_needs_no_verification() {
        let r = read_invoice(INVOICE, today());
        assert_eq!(r.value("fournisseur"), Some("Papeterie Dupont SARL"));
        assert_eq!(r.value("siret"), Some("73282932000074"));
        assert_eq!(r.value("numero_facture"), Some("FA-2024-0117"));
        assert_eq!(r.value("date_facture"), Some("2024-04-14"));
        assert_eq!(r.value("bon_de_commande"), Some("BC-2024-031"));
        assert_eq!(r.value("montant_ht"), Some("1000.00"));
        assert_eq!(r.value("montant_tva"), Some("200.00"));
        assert_eq!(r.value("montant_ttc"), Some("1200.00"));
        assert_eq!(r.value("iban"), Some("FR7630006000011234567890189"));
        assert!(r.missing.is_empty(), "{r:?}");
        assert!(r.field("siret").is_some_and(|f| f.confidence >= TRUSTED));
        assert!(r.field("montant_ttc").is_some_and(|f| f.confidence >= TRUSTED));
        // The supplier's name is a guess, but its SIRET names it surely.
        assert!(r.field("fournisseur").is_some_and(|f| f.confidence < TRUSTED));
        assert!(!r.needs_verification(), "{r:?}");
        let unnamed = INVOICE.replace("SIRET : 732 829 320 00074\n", "");
        assert!(
            read_invoice(&unnamed, today()).needs_verification(),
            "no SIRET: the name is a guess"
        );
    }

    #[test]
    fn a_wrong_siret_key_or_amounts_that_disagree_lower_the_confidence() {
        let wrong_key = INVOICE.replace("732 829 320 00074", "732 829 320 00075");
        let r = read_invoice(&wrong_key, today());
        let siret = r.field("siret").expect("read");
        assert!(siret.confidence < TRUSTED && siret.doubt.as_deref().is_some_and(|d| d.contains("Luhn")));

        let disagree = INVOICE.replace("Total TTC 1 200,00 €", "Total TTC 1 280,00 €");
        let r = read_invoice(&disagree, today());
        let ttc = r.field("montant_ttc").expect("read");
        assert!(ttc.confidence < TRUSTED && ttc.doubt.as_deref().is_some_and(|d| d.contains("ne s'accordent pas")));
        assert!(r.needs_verification());

        let future = INVOICE.replace("14/04/2024", "14/04/2031");
        let r = read_invoice(&future, today());
        assert!(r.field("date_facture").is_some_and(|f| f.confidence < TRUSTED));

        let r = read_invoice("Bonjour, voici un courrier sans facture.", today());
        assert_eq!(r.missing, EXPECTED);
        assert!(r.needs_verification());
    }

    #[test]
    fn the_number_is_the_invoices_not_a_date_labelled_after_it() {
        let text = "FACTURE N FA-2024-0117\nDate de facture : 14/04/2024\nTotal TTC : 10,00";
        let r = read_invoice(text, today());
        assert_eq!(r.value("numero_facture"), Some("FA-2024-0117"));
        assert_eq!(r.value("date_facture"), Some("2024-04-14"));
        let r = read_invoice("Date de facture : 14/04/2024\nTotal TTC : 10,00", today());
        assert_eq!(r.value("numero_facture"), None, "a date is no number");
    }

    #[test]
    fn ocr_slips_in_digits_are_forgiven() {
        let scanned = INVOICE
            .replace("732 829 320 00074", "732 829 32O 0OO74")
            .replace("Total TTC 1 200,00 €", "Total TTC l 200,0O €");
        let r = read_invoice(&scanned, today());
        assert_eq!(r.value("siret"), Some("73282932000074"));
        assert_eq!(r.value("montant_ttc"), Some("1200.00"));
    }

    #[test]
    fn keys_and_amounts_are_checked_as_the_standards_say() {
        assert!(luhn_valid("732829320"), "a SIREN");
        assert!(luhn_valid("73282932000074"));
        assert!(!luhn_valid("73282932000075"));
        assert!(luhn_valid("35600000000051"), "La Poste: sum of digits modulo 5");
        assert!(!luhn_valid("35600000000048"));
        assert!(iban_valid("FR76 3000 6000 0112 3456 7890 189"));
        assert!(!iban_valid("FR76 3000 6000 0112 3456 7890 188"));
        assert!(iban_valid("FR7618025002000810341132292"), "a real one from a PES flow");
        for (text, cents) in [
            ("1 200,00 €", 120_000),
            ("1.200,00", 120_000),
            ("1200.00", 120_000),
            ("1 200 €", 120_000),
            ("0,5", 50),
            ("12,50 EUR", 1_250),
            ("-35,10", -3_510),
        ] {
            assert_eq!(amount_in(text), Some(cents), "{text}");
        }
        assert_eq!(amount_in("néant"), None);
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("a date");
        assert_eq!(
            date_in("Facturé le 3 avril 2024", today()),
            Some((day(2024, 4, 3), false))
        );
        assert_eq!(date_in("le 1er mars 2024,", today()), Some((day(2024, 3, 1), false)));
        assert_eq!(date_in("14/O4/2O24", today()), Some((day(2024, 4, 14), false)));
        assert_eq!(date_in("14/04/2031", today()), Some((day(2031, 4, 14), true)));
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_read_without_a_panic(text in "\\PC{0,400}") {
            let r = read_invoice(&text, today());
            for f in &r.fields {
                proptest::prop_assert!((0.0..=1.0).contains(&f.confidence));
            }
        }

        #[test]
        fn any_amount_written_the_french_way_reads_back(euros in 0i64..10_000_000, cents in 0i64..100) {
            let digits = euros.to_string();
            let grouped: String = digits
                .chars()
                .enumerate()
                .flat_map(|(i, c)| {
                    let space = i > 0 && (digits.len() - i) % 3 == 0;
                    space.then_some(' ').into_iter().chain(std::iter::once(c))
                })
                .collect();
            let text = format!("{grouped},{cents:02} €");
            proptest::prop_assert_eq!(amount_in(&text), Some(euros * 100 + cents));
        }
    }
}
