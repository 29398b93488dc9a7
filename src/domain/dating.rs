//! The date a document gives itself, read from its text, for a deposit that
//! names none: `Séance du 12 mars 2024`, `Le Maire, le 3 avril 2024`,
//! `Fait à Rennes, le 1er juin 2023`, `Date de facture : 14/04/2024`.
//!
//! A French document carries many dates: the laws it cites (`loi du 12
//! juillet 1983`), the deadlines it sets, the date it was made. The one
//! wanted is the last: a date said after words that date a document
//! (séance, fait à, le maire, date de facture, …) is taken first; then the
//! first date that no citation word precedes; a cited date only when there
//! is nothing else. Dates after `today` and impossible ones (31/02) are
//! never taken. Pure: the text and the day come in, the date comes out.

use chrono::{Datelike, NaiveDate};
use regex::Regex;
use std::sync::LazyLock;

/// A date read from a text, with the words that gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadDate {
    /// The date.
    pub date: NaiveDate,
    /// The passage it was read from (the date and the words before it),
    /// as the text has it, on one line.
    pub excerpt: String,
}

/// How far before a date its context is looked for, in characters.
const CONTEXT: usize = 48;
/// The longest excerpt kept, in characters.
const EXCERPT_MAX: usize = 96;

const MONTHS: [&str; 12] = [
    "janvier",
    "fevrier",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "aout",
    "septembre",
    "octobre",
    "novembre",
    "decembre",
];

/// `12 mars 2024`, `1er avril 2024`, `mardi 3 AVRIL 2024`, `12 fevrier 2024`;
/// `14/04/2024`, `14.04.24`, `14-04-2024`; `2024-04-14`.
static DATES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?xi)
        \b(?P<day>[0-3]?[0-9]|1\s?er|premier)\s+
          (?P<month>janvier|f[ée]vrier|mars|avril|mai|juin|juillet|ao[uû]t|septembre|octobre|novembre|d[ée]cembre)
          \s+(?P<year>[0-9]{4})\b
        | \b(?P<nday>[0-3]?[0-9])\s?[/.-]\s?(?P<nmonth>[01]?[0-9])\s?[/.-]\s?(?P<nyear>[0-9]{4}|[0-9]{2})\b
        | \b(?P<iyear>[0-9]{4})-(?P<imonth>[01][0-9])-(?P<iday>[0-3][0-9])\b
        ",
    )
    .unwrap_or_else(|e| panic!("the dates' pattern: {e}"))
});

/// Words that, just before a date, say it is the document's own.
static DATING_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?xi)
        s[ée]ance | fait\s+(?:à|a|en|le) | le\s+maire | la\s+maire | le\s+pr[ée]sident | la\s+pr[ée]sidente
        | en\s+date\s+du | date\s+de\s+(?:la\s+)?facture | date\s+d'[ée]mission | date\s+de\s+l'acte
        | d[ée]lib[ée]r[ée] | sign[ée]\s+le | [ée]mise?\s+le | [ée]tabli[e]?\s+le | r[ée]union\s+du
        | \bdate\s*:
        ",
    )
    .unwrap_or_else(|e| panic!("the dating words' pattern: {e}"))
});

/// Words that, just before a date, say it is cited, not the document's.
static CITING_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?xi)
        \b(?:loi|d[ée]cret|ordonnance|circulaire|r[èe]glement|directive|arr[êe]t[ée]\s+(?:minist[ée]riel|pr[ée]fectoral)|code)\b
        | \bjusqu'(?:au|à) | \bavant\s+le | \bau\s+plus\s+tard | [ée]ch[ée]ance | \bn[ée]e?\s+le
        ",
    )
    .unwrap_or_else(|e| panic!("the citing words' pattern: {e}"))
});

/// The document's own date in `text`, if it says one on or before `today`.
pub fn date_in_text(text: &str, today: NaiveDate) -> Option<ReadDate> {
    // (rank, position): 0 dated by its words, 1 plain, 2 cited.
    let mut best: Option<(u8, usize, ReadDate)> = None;
    // A date's context starts after the date before it.
    let mut floor = 0;
    for found in DATES.captures_iter(text) {
        let Some(whole) = found.get(0) else { continue };
        let before = context_before(text, floor, whole.start());
        floor = whole.end();
        let Some(date) = date_of(&found, today) else {
            continue;
        };
        if date > today {
            continue;
        }
        // Of the words before it, those nearest to it count.
        let dating = DATING_WORDS.find_iter(before).last().map(|m| m.end());
        let citing = CITING_WORDS.find_iter(before).last().map(|m| m.end());
        let rank = match (dating, citing) {
            (Some(d), Some(c)) if c > d => 2,
            (Some(_), _) => 0,
            (None, Some(_)) => 2,
            (None, None) => 1,
        };
        if best.as_ref().is_some_and(|(r, _, _)| *r <= rank) {
            continue;
        }
        let start = dating.map_or(whole.start(), |_| {
            whole.start() - before.len() + before_start_of_line(before)
        });
        let excerpt = one_line(text.get(start..whole.end()).unwrap_or_default());
        best = Some((rank, whole.start(), ReadDate { date, excerpt }));
        if rank == 0 {
            break;
        }
    }
    best.map(|(_, _, read)| read)
}

/// The date a match says, if it is one.
fn date_of(found: &regex::Captures<'_>, today: NaiveDate) -> Option<NaiveDate> {
    let number = |name: &str| found.name(name).and_then(|m| m.as_str().parse::<u32>().ok());
    let (year, month, day) = if let Some(month) = found.name("month") {
        let month = folded(month.as_str());
        let month = MONTHS.iter().position(|m| *m == month)? as u32 + 1;
        let day = match found.name("day").map(|d| d.as_str().to_lowercase()) {
            Some(d) if d.starts_with('1') && d.ends_with("er") || d == "premier" => 1,
            Some(d) => d.parse().ok()?,
            None => return None,
        };
        (number("year")?, month, day)
    } else if let Some(year) = found.name("nyear") {
        let mut y: u32 = year.as_str().parse().ok()?;
        if year.as_str().len() == 2 {
            // 24 is 2024 up to this year's two digits, 1999 above.
            let century = today.year() as u32 / 100 * 100;
            y += if y <= today.year() as u32 % 100 {
                century
            } else {
                century - 100
            };
        }
        (y, number("nmonth")?, number("nday")?)
    } else {
        (number("iyear")?, number("imonth")?, number("iday")?)
    };
    if year < 1000 {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)
}

/// The words just before byte `end`: up to [`CONTEXT`] characters, not
/// before byte `floor`, and within the sentence (after the last `. ` or
/// `;`; a line break does not end it: `Fait à Rennes,⏎le 3 mai 2024`).
fn context_before(text: &str, floor: usize, end: usize) -> &str {
    let head = text.get(floor.min(end)..end).unwrap_or_default();
    let start = head.char_indices().rev().nth(CONTEXT - 1).map_or(0, |(i, _)| i);
    let near = head.get(start..).unwrap_or_default();
    let sentence = near
        .char_indices()
        .rev()
        .find(|&(i, c)| c == ';' || (c == '.' && near[i + 1..].starts_with(char::is_whitespace)))
        .map_or(0, |(i, _)| i + 1);
    near.get(sentence..).unwrap_or_default()
}

/// Where the last line of `before` starts (0: it has one line).
fn before_start_of_line(before: &str) -> usize {
    before.rfind('\n').map_or(0, |i| i + 1)
}

/// The passage on one line, spaces collapsed, at most [`EXCERPT_MAX`]
/// characters (its end kept: the date is there).
fn one_line(passage: &str) -> String {
    let words: Vec<&str> = passage.split_whitespace().collect();
    let line = words.join(" ");
    let count = line.chars().count();
    if count <= EXCERPT_MAX {
        return line;
    }
    format!("…{}", line.chars().skip(count - EXCERPT_MAX).collect::<String>())
}

/// Lower case, without accents, for month names.
fn folded(word: &str) -> String {
    word.to_lowercase()
        .chars()
        .map(|c| match c {
            'é' | 'è' | 'ê' => 'e',
            'û' | 'ù' => 'u',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn today() -> NaiveDate {
        d("2026-12-04")
    }

    fn read(text: &str) -> Option<NaiveDate> {
        date_in_text(text, today()).map(|r| r.date)
    }

    #[test]
    fn the_words_that_date_a_document_win_over_the_dates_it_cites() {
        let deliberation = "DÉPARTEMENT D'ILLE-ET-VILAINE\nExtrait du registre des délibérations\n\
            Vu la loi n° 83-634 du 13 juillet 1983 ;\nVu le code général des collectivités territoriales ;\n\
            Séance du 12 mars 2024\nLe conseil départemental, dûment convoqué le 5 mars 2024, …";
        let found = date_in_text(deliberation, today()).unwrap();
        assert_eq!(found.date, d("2024-03-12"));
        assert_eq!(found.excerpt, "Séance du 12 mars 2024");
        assert_eq!(read("Le Maire, le 3 avril 2024"), Some(d("2024-04-03")));
        assert_eq!(
            read("Arrêté portant réglementation temporaire.\nFait à Rennes, le 1er juin 2023\nLe Maire"),
            Some(d("2023-06-01"))
        );
        assert_eq!(
            read("Facture n° FA-88\nDate de facture : 14/04/2024"),
            Some(d("2024-04-14"))
        );
        assert_eq!(read("Séance publique du mardi 3 DÉCEMBRE 2024"), Some(d("2024-12-03")));
    }

    #[test]
    fn plain_dates_come_first_in_the_text_and_cited_ones_last() {
        assert_eq!(read("Rennes, 14/04/2024\nObjet : travaux"), Some(d("2024-04-14")));
        assert_eq!(read("Compte rendu 2024-02-29 de la réunion"), Some(d("2024-02-29")));
        assert_eq!(
            read("Conformément à la loi du 12 juillet 1983. Courrier du 2 mai 2024."),
            Some(d("2024-05-02"))
        );
        assert_eq!(
            read("En application du décret du 29 décembre 2012"),
            Some(d("2012-12-29"))
        );
        assert_eq!(
            read("Réponse attendue avant le 30 juin 2024. Rennes, 3 juin 2024"),
            Some(d("2024-06-03"))
        );
        assert_eq!(read("relevé 14.04.24"), Some(d("2024-04-14")));
        assert_eq!(read("relevé 14.04.99"), Some(d("1999-04-14")));
        assert_eq!(read("premier fevrier 2020"), Some(d("2020-02-01")));
    }

    #[test]
    fn no_date_an_impossible_date_or_a_date_to_come_gives_none() {
        assert_eq!(read("La règle pour ces expressions est simple."), None);
        assert_eq!(read("le 31/02/2024"), None);
        assert_eq!(read("le 12 mars 0900"), None);
        assert_eq!(read("Séance du 12 mars 2031"), None);
        assert_eq!(
            read("Séance du 12 mars 2031, convoquée le 2 mars 2024"),
            Some(d("2024-03-02"))
        );
        assert_eq!(read("version 1.2.3, tel. 02 99 12 34 56"), None);
    }

    proptest! {
        #[test]
        fn any_text_gives_a_date_on_or_before_today_or_none(text in "\\PC{0,400}") {
            if let Some(read) = date_in_text(&text, today()) {
                prop_assert!(read.date <= today());
                prop_assert!(read.excerpt.chars().count() <= EXCERPT_MAX + 1);
            }
        }

        #[test]
        fn any_date_written_in_french_after_a_seance_is_read(
            day in 1u32..=28, month in 1u32..=12, year in 1900i32..=2026, noise in "[a-z ,.]{0,60}"
        ) {
            let date = NaiveDate::from_ymd_opt(year, month, day).unwrap();
            prop_assume!(date <= today());
            let long = format!("{noise}\nSéance du {day} {} {year}", MONTHS[month as usize - 1]);
            prop_assert_eq!(read(&long), Some(date));
            let short = format!("{noise}\nDate : {day:02}/{month:02}/{year}");
            prop_assert_eq!(read(&short), Some(date));
        }
    }
}
