//! The dashboard's sections on capture and on the archive's health, said
//! for people: each figure in a table (a chart beside the main ones), the
//! same figures as `GET /indicators/capture` and `/indicators/health`.

use super::circuits::{Bar, bar_chart, month_words};
use super::french;
use crate::archive::indicators::{CaptureReport, HealthReport};
use crate::domain::indicators::capture::{FieldCounts, rate};

/// A table's line: its key, then its cells.
pub struct Line {
    /// What the line is about (a month, a field…).
    pub key: String,
    /// Its figures, as said.
    pub cells: Vec<String>,
}

/// A table of lines, with its caption and its columns' headers (the key's
/// first); none when it has no line.
pub struct Table {
    /// Its caption.
    pub caption: &'static str,
    /// The columns' headers.
    pub headers: Vec<&'static str>,
    /// Its lines.
    pub lines: Vec<Line>,
}

/// The tables that have lines, in order.
fn tables(all: Vec<(&'static str, Vec<&'static str>, Vec<Line>)>) -> Vec<Table> {
    all.into_iter()
        .filter(|(_, _, lines)| !lines.is_empty())
        .map(|(caption, headers, lines)| Table {
            caption,
            headers,
            lines,
        })
        .collect()
}

/// A percentage said in French (`33,3 %`), or a dash.
pub(super) fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_owned(), |v| format!("{}\u{a0}%", french::tenths(v)))
}

/// The capture section.
pub struct CaptureSection {
    /// « 120 documents déposés, dont 80 classés par une règle (66,7 %) ».
    pub summary: String,
    /// The flows in all, in a sentence.
    pub flows_summary: String,
    /// Classification rate by month, as bars.
    pub chart: String,
    /// By month; fields read and corrected; corrections by supplier; PES
    /// flows by month; rejection anomalies; failures that stand (today).
    pub tables: Vec<Table>,
}

/// The most supplier lines shown (the CSV has them all).
const SUPPLIER_LINES: usize = 20;

fn field_cells(c: &FieldCounts) -> Vec<String> {
    vec![
        c.read_surely.to_string(),
        c.doubtful.to_string(),
        c.missing.to_string(),
        c.checked.to_string(),
        c.corrected.to_string(),
        percent(rate(c.corrected, c.checked)),
    ]
}

/// The name of a field read, for people (`noeud`: the classification).
fn field_name(name: &str) -> String {
    if name == crate::domain::verification::NODE_FIELD {
        "Classement (nœud choisi par une règle)".to_owned()
    } else {
        french::field_label(name)
    }
}

/// What failed, by extractor, for people.
fn extractor_failure(extractor: &str) -> String {
    match extractor {
        "ocr" => "Reconnaissance de caractères (OCR) d'une image".to_owned(),
        "pdf" => "PDF (texte, ou OCR d'un PDF scanné)".to_owned(),
        "none" => "Format sans extraction de texte, ou contenu illisible".to_owned(),
        "text" | "html" => "Texte ou page HTML".to_owned(),
        "eml" => "Message électronique".to_owned(),
        other => format!("Document bureautique ({other})"),
    }
}

impl CaptureSection {
    /// The section for `report`.
    pub fn new(report: &CaptureReport) -> Self {
        let c = &report.journal;
        let mut suppliers: Vec<_> = c
            .by_supplier
            .iter()
            .filter(|(supplier, _, counts)| supplier.is_some() && counts.checked > 0)
            .collect();
        suppliers.sort_by_key(|(supplier, field, counts)| {
            (std::cmp::Reverse(counts.corrected), supplier.clone(), field.clone())
        });
        let f = &c.flows;
        let months = c
            .months
            .iter()
            .map(|(month, records, classified)| Line {
                key: month_words(month),
                cells: vec![
                    records.to_string(),
                    classified.to_string(),
                    percent(rate(*classified, *records)),
                ],
            })
            .collect();
        let fields = c
            .by_field
            .iter()
            .map(|(name, counts)| Line {
                key: field_name(name),
                cells: field_cells(counts),
            })
            .collect();
        let suppliers = suppliers
            .into_iter()
            .take(SUPPLIER_LINES)
            .map(|(supplier, field, counts)| Line {
                key: supplier.clone().unwrap_or_default(),
                cells: vec![
                    field_name(field),
                    counts.checked.to_string(),
                    counts.corrected.to_string(),
                    percent(rate(counts.corrected, counts.checked)),
                ],
            })
            .collect();
        let flows = c
            .flows_by_month
            .iter()
            .map(|(month, f)| Line {
                key: month_words(month),
                cells: [f.sent, f.accepted, f.rejected, f.waiting]
                    .iter()
                    .map(u64::to_string)
                    .collect(),
            })
            .collect();
        let rejections = c
            .rejections
            .iter()
            .map(|(code, label, flows)| Line {
                key: format!("{label} (code {code})"),
                cells: vec![flows.to_string()],
            })
            .collect();
        let failures = report.failures.as_ref().map_or_else(Vec::new, |failures| {
            let mut lines: Vec<Line> = failures
                .extraction
                .iter()
                .map(|(extractor, n)| Line {
                    key: format!("Extraction du texte : {}", extractor_failure(extractor)),
                    cells: vec![n.to_string()],
                })
                .collect();
            lines.push(Line {
                key: "Signatures invalides".into(),
                cells: vec![failures.signatures_invalid.to_string()],
            });
            lines.push(Line {
                key: "Signatures qui n'ont pas pu être vérifiées".into(),
                cells: vec![failures.signatures_unchecked.to_string()],
            });
            lines
        });
        CaptureSection {
            summary: format!(
                "{} {} déposés, dont {} classés par une règle ({}).",
                c.deposited,
                if c.deposited == 1 { "document" } else { "documents" },
                c.classified,
                percent(c.classification_rate)
            ),
            flows_summary: format!(
                "{} flux PES envoyés : {} acceptés, {} rejetés, {} en attente d'acquittement.",
                f.sent, f.accepted, f.rejected, f.waiting
            ),
            chart: bar_chart(
                "g-classement",
                "Taux de classement automatique, par mois de dépôt",
                "Une barre par mois : la part des documents déposés dont une règle a choisi le nœud, en pour cent. Les chiffres sont dans le tableau qui suit.",
                &c.months
                    .iter()
                    .map(|(month, records, classified)| {
                        let share = rate(*classified, *records).unwrap_or(0.0);
                        Bar {
                            month: month.clone(),
                            value: share,
                            alarm: false,
                            tip: format!(
                                "{} : {} classés automatiquement",
                                month_words(month),
                                percent(Some(share))
                            ),
                        }
                    })
                    .collect::<Vec<_>>(),
                None,
            ),
            tables: tables(vec![
                (
                    "Dépôts et classement automatique, par mois",
                    vec!["Mois", "Déposés", "Classés par une règle", "Taux"],
                    months,
                ),
                (
                    "Champs lus sur les factures, et corrigés dans la file de vérification",
                    vec![
                        "Champ",
                        "Lus sûrement",
                        "Lus avec doute",
                        "Non trouvés",
                        "Vérifiés",
                        "Corrigés",
                        "Part corrigée",
                    ],
                    fields,
                ),
                (
                    "Corrections par fournisseur et par champ (les plus corrigés d'abord)",
                    vec!["Fournisseur", "Champ", "Vérifiés", "Corrigés", "Part corrigée"],
                    suppliers,
                ),
                (
                    "Flux PES par mois d'envoi, selon la réponse du comptable",
                    vec!["Mois", "Envoyés", "Acceptés", "Rejetés", "En attente"],
                    flows,
                ),
                ("Motifs de rejet des flux PES", vec!["Motif", "Rejets"], rejections),
                ("Échecs en cours, par nature", vec!["Nature", "Documents"], failures),
            ]),
        }
    }
}

/// The archive's health section.
pub struct HealthSection {
    /// Fixity coverage, the last run and open damage, in a sentence.
    pub fixity: String,
    /// What is due (today only), in a sentence.
    pub due: Option<String>,
    /// Records due by month, as bars (today only).
    pub due_chart: String,
    /// Records due by month (today); departures, holds, fixity and damage
    /// by month; the copies' lag (today, for those who may see it).
    pub tables: Vec<Table>,
}

impl HealthSection {
    /// The section for `report`.
    pub fn new(report: &HealthReport) -> Self {
        let h = &report.journal;
        let fixity = match &h.last_fixity_run {
            Some(run) => format!(
                "Dernier contrôle d'intégrité complet commencé le {} : {} contenus recontrôlés, {} anomalies. Couverture : {} ({} contenus déposés depuis). Contenus endommagés non réparés : {}.",
                french::date(run.started_at.date_naive()),
                run.blobs_checked,
                run.findings,
                percent(h.fixity_coverage),
                h.unchecked_since,
                h.open_damage
            ),
            None => format!(
                "Aucun contrôle d'intégrité complet n'a encore eu lieu ({} contenus à contrôler). Contenus endommagés non réparés : {}.",
                h.unchecked_since, h.open_damage
            ),
        };
        let now = report.now.as_ref();
        let months = h
            .months
            .iter()
            .map(|(month, m)| Line {
                key: month_words(month),
                cells: [
                    m.eliminated,
                    m.transferred,
                    m.holds_placed,
                    m.holds_lifted,
                    m.fixity_runs,
                    m.blobs_checked,
                    m.damage_found,
                    m.damage_repaired,
                ]
                .iter()
                .map(u64::to_string)
                .collect(),
            })
            .collect();
        let due_months = now.map_or_else(Vec::new, |n| {
            n.due_by_month
                .iter()
                .map(|(month, records)| Line {
                    key: month_words(month),
                    cells: vec![records.to_string()],
                })
                .collect()
        });
        let copies = now.map_or_else(Vec::new, |n| {
            n.copies
                .iter()
                .map(|(store, lag)| Line {
                    key: store.clone(),
                    cells: vec![lag.to_string()],
                })
                .chain(n.follower_lag.map(|lag| Line {
                    key: "Archive suivie (réplique)".into(),
                    cells: vec![lag.to_string()],
                }))
                .collect()
        });
        HealthSection {
            fixity,
            due: now.map(|n| {
                format!(
                    "{} documents ont atteint la fin de leur durée de conservation, dont {} gelés ; {} l'atteindront dans les douze mois.",
                    n.overdue,
                    n.held_due,
                    n.due_by_month.iter().map(|(_, r)| r).sum::<u64>()
                )
            }),
            due_chart: now.map_or_else(String::new, |n| {
                bar_chart(
                    "g-echeances",
                    "Documents arrivant en fin de durée de conservation, par mois",
                    "Une barre par mois des douze à venir. Les chiffres sont dans le tableau qui suit.",
                    &n.due_by_month
                        .iter()
                        .map(|(month, records)| Bar {
                            month: month.clone(),
                            value: *records as f64,
                            alarm: false,
                            tip: format!("{} : {records} documents", month_words(month)),
                        })
                        .collect::<Vec<_>>(),
                    None,
                )
            }),
            tables: tables(vec![
                (
                    "Documents arrivant en fin de durée de conservation, par mois",
                    vec!["Mois", "Documents"],
                    due_months,
                ),
                (
                    "Sorties, gels et contrôles d'intégrité, par mois",
                    vec![
                        "Mois",
                        "Éliminés",
                        "Versés",
                        "Gels posés",
                        "Gels levés",
                        "Contrôles",
                        "Contenus recontrôlés",
                        "Endommagés trouvés",
                        "Réparés",
                    ],
                    months,
                ),
                (
                    "Retard de réplication, en événements du journal",
                    vec!["Copie", "Événements en retard"],
                    copies,
                ),
            ]),
        }
    }
}
