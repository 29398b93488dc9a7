//! The registers, by period: entries (deposits and imports), eliminations
//! and transfers; as pages to print and as CSV.

use super::{Frame, PageError, Signed, french, html};
use crate::archive::registers::{DispositionLine, EntryLine};
use crate::archive::{Archive, ArchiveError};
use crate::domain::role::Permission;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::web::{self, Data};
use askama::Template;
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

/// Entries a page shows; the CSV holds up to the archive's bound.
const PAGE_LINES: usize = 1_000;

/// `?registre=&du=&au=`.
#[derive(Debug, Default, Deserialize)]
pub struct RegisterParams {
    #[serde(default)]
    registre: String,
    #[serde(default)]
    du: String,
    #[serde(default)]
    au: String,
}

/// Which register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Register {
    Entries,
    Eliminations,
    Transfers,
}

impl Register {
    fn of(code: &str) -> Register {
        match code {
            "eliminations" => Register::Eliminations,
            "versements" => Register::Transfers,
            _ => Register::Entries,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Register::Entries => "entrees",
            Register::Eliminations => "eliminations",
            Register::Transfers => "versements",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Register::Entries => "Registre des entrées",
            Register::Eliminations => "Registre des éliminations",
            Register::Transfers => "Registre des versements",
        }
    }
}

/// The period asked: `du` and `au`, French or ISO; this year to today
/// when not given. A date that cannot be read is said, and the default
/// kept.
fn period(params: &RegisterParams, today: NaiveDate) -> (NaiveDate, NaiveDate, Option<String>) {
    let mut problem = None;
    let mut day = |text: &str, default: NaiveDate| match french::typed_day(text) {
        Ok(day) => day.unwrap_or(default),
        Err(e) => {
            problem = Some(e);
            default
        }
    };
    let start = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
    let from = day(&params.du, start);
    let to = day(&params.au, today);
    (from, to, problem)
}

/// A register's lines, as the page and the CSV give them: the headings,
/// then each line's cells.
struct Table {
    headings: Vec<&'static str>,
    rows: Vec<Vec<String>>,
    more: bool,
}

fn entries_table(lines: Vec<EntryLine>, more: bool) -> Table {
    Table {
        headings: vec![
            "N° d'ordre",
            "Déposé le",
            "Référence",
            "Intitulé",
            "Nœud",
            "Date du document",
            "Déposant",
            "Taille",
            "Empreinte SHA-256",
            "Provenance",
        ],
        rows: lines
            .into_iter()
            .map(|l| {
                vec![
                    l.seq.to_string(),
                    french::time(l.at),
                    l.reference,
                    l.title,
                    l.node,
                    french::date(l.date),
                    l.depositor,
                    french::size(l.size),
                    l.sha256,
                    l.imported_from
                        .map(|p| format!("import du paquet {p}"))
                        .unwrap_or_else(|| "dépôt".into()),
                ]
            })
            .collect(),
        more,
    }
}

fn disposition_table(lines: Vec<DispositionLine>, register: Register) -> Table {
    Table {
        headings: vec![
            if register == Register::Eliminations {
                "Éliminé le"
            } else {
                "Versé le"
            },
            if register == Register::Eliminations {
                "Élimination n°"
            } else {
                "Versement n°"
            },
            "Référence",
            "Intitulé conservé",
            "Nœud",
            "Date du document",
            "Règle",
            "Durée",
            "Échéance",
            if register == Register::Eliminations {
                "Visa"
            } else {
                "Archives"
            },
        ],
        rows: lines
            .into_iter()
            .map(|l| {
                let duration = crate::domain::plan::RetentionDuration::parse(&l.duration)
                    .map(|d| french::duration(&d))
                    .unwrap_or(l.duration);
                vec![
                    french::time(l.at),
                    l.number.to_string(),
                    l.reference,
                    l.title.unwrap_or_default(),
                    l.node,
                    french::date(l.date),
                    l.rule,
                    duration,
                    french::date(l.due),
                    l.authority,
                ]
            })
            .collect(),
        more: false,
    }
}

fn require_registers(signed: &Signed) -> Result<(), PageError> {
    signed
        .actor
        .require(Permission::ManageRecords, "consulter les registres")
        .map_err(PageError::Archive)
}

async fn table_of(
    signed: &Signed,
    archive: Data<Archive>,
    register: Register,
    from: NaiveDate,
    to: NaiveDate,
    limit: usize,
) -> Result<Table, PageError> {
    let actor = signed.actor.clone();
    let table = web::block(move || {
        Ok::<_, ArchiveError>(match register {
            Register::Entries => {
                let (lines, more) = archive.entries_register(&actor, from, to, limit)?;
                entries_table(lines, more)
            }
            Register::Eliminations => disposition_table(archive.disposals_register(&actor, from, to)?, register),
            Register::Transfers => disposition_table(archive.transfers_register(&actor, from, to)?, register),
        })
    })
    .await??;
    Ok(table)
}

/// A register offered in the choice.
pub struct RegisterChoice {
    code: &'static str,
    title: &'static str,
}

#[derive(Template)]
#[template(path = "registers.html")]
struct RegisterPage {
    frame: Frame,
    choices: Vec<RegisterChoice>,
    register: &'static str,
    heading: String,
    du: String,
    au: String,
    problem: Option<String>,
    headings: Vec<&'static str>,
    rows: Vec<Vec<String>>,
    more: bool,
    csv_href: String,
}

fn query_of(register: Register, from: NaiveDate, to: NaiveDate) -> String {
    serde_urlencoded::to_string([
        ("registre", register.code()),
        ("du", &french::date(from)),
        ("au", &french::date(to)),
    ])
    .unwrap_or_default()
}

/// A register, as a page to print.
pub async fn page(
    signed: Signed,
    archive: Data<Archive>,
    params: web::Query<RegisterParams>,
) -> Result<HttpResponse, PageError> {
    require_registers(&signed)?;
    let register = Register::of(&params.registre);
    let today = chrono::Utc::now().date_naive();
    let (from, to, problem) = period(&params, today);
    let table = table_of(&signed, archive, register, from, to, PAGE_LINES).await?;
    let page = RegisterPage {
        frame: signed.frame(register.title(), "registers"),
        choices: [Register::Entries, Register::Eliminations, Register::Transfers]
            .into_iter()
            .map(|r| RegisterChoice {
                code: r.code(),
                title: r.title(),
            })
            .collect(),
        register: register.code(),
        heading: format!("{} du {} au {}", register.title(), french::date(from), french::date(to)),
        du: french::date(from),
        au: french::date(to),
        problem,
        headings: table.headings,
        rows: table.rows,
        more: table.more,
        csv_href: format!("/registres.csv?{}", query_of(register, from, to)),
    };
    Ok(html(StatusCode::OK, &page))
}

/// A CSV field, quoted when it must be.
fn csv_field(text: &str) -> String {
    if text.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// A register as CSV (UTF-8 with its mark, `;` between fields).
pub async fn csv(
    signed: Signed,
    archive: Data<Archive>,
    params: web::Query<RegisterParams>,
) -> Result<HttpResponse, PageError> {
    require_registers(&signed)?;
    let register = Register::of(&params.registre);
    let today = chrono::Utc::now().date_naive();
    let (from, to, problem) = period(&params, today);
    if let Some(problem) = problem {
        return Err(PageError::Archive(ArchiveError::Invalid(
            crate::domain::record::InvalidInput::new("du", problem),
        )));
    }
    let table = table_of(
        &signed,
        archive,
        register,
        from,
        to,
        crate::archive::registers::REGISTER_MAX,
    )
    .await?;
    let mut out = String::from("\u{feff}");
    out.push_str(&table.headings.join(";"));
    out.push_str("\r\n");
    for row in &table.rows {
        out.push_str(&row.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(";"));
        out.push_str("\r\n");
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"registre-{}-{}-{}.csv\"",
                register.code(),
                from.format("%Y-%m-%d"),
                to.format("%Y-%m-%d")
            ),
        ))
        .body(out))
}
