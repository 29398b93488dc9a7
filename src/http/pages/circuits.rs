//! Processing circuits for people: « À traiter », the work list (overdue
//! first, each record with the moves its step allows the person); the move
//! form, on the work list and on a record's page; and « Indicateurs », the
//! dashboard: the payment chain (délais by month with a chart drawn here in
//! SVG, by service and supplier, interest owed), the stock, what waits
//! where, capture and the archive's health (`dashboard`), each figure also
//! in a table, with filters and the CSV.

use super::{Frame, NodeOption, PageError, Signed, french, html, node_options};
use crate::archive::circuits::{CircuitView, Move};
use crate::archive::{Archive, ArchiveError};
use crate::domain::indicators::{AGE_BUCKETS, Blockage, DelayStats, PaymentFilter, PaymentIndicators, Scope};
use crate::domain::record::{NodeCode, Record};
use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use actix_web::web::{self, Data};
use askama::Template;
use serde::Deserialize;

/// A record's place in its circuit, said for a person, with the moves they
/// may make.
pub struct CircuitPanel {
    /// The circuit's name.
    pub circuit: String,
    /// The step's name.
    pub step: String,
    /// « depuis le 01/03/2024 ».
    pub since: String,
    /// « reste 3 jours », « en retard de 5 jours », « sans délai ».
    pub standing: String,
    /// Past its step's delay.
    pub overdue: bool,
    /// The circuit's clock, in a sentence.
    pub clock: String,
    /// Each step it stayed at: (name, from).
    pub passages: Vec<(String, String)>,
    /// The moves the person may make: (code, name).
    pub moves: Vec<(String, String)>,
    /// Its reference (the form's action).
    pub reference: String,
    /// Today, for the date field's default (JJ/MM/AAAA).
    pub today: String,
}

impl CircuitPanel {
    /// The panel of `record`, as `view` reads it.
    pub fn new(record: &Record, view: &CircuitView) -> Self {
        let today = chrono::Utc::now().date_naive();
        let standing = french::days_left(view.days_left);
        let mut clock = match view.circuit.total_days {
            Some(total) => format!(
                "délai écoulé : {} sur {total}",
                french::count(view.clock.running.unsigned_abs(), "jour", "jours")
            ),
            None => format!(
                "délai écoulé : {}",
                french::count(view.clock.running.unsigned_abs(), "jour", "jours")
            ),
        };
        if view.clock.suspended > 0 {
            clock.push_str(&format!(
                " (et {} de suspension, non comptés)",
                french::count(view.clock.suspended.unsigned_abs(), "jour", "jours")
            ));
        }
        let passages = record
            .circulation
            .iter()
            .flat_map(|c| c.passages.iter())
            .map(|p| {
                (
                    view.circuit
                        .step(&p.step)
                        .map_or_else(|| p.step.clone(), |s| s.title.clone()),
                    french::date(p.from),
                )
            })
            .collect();
        CircuitPanel {
            circuit: view.circuit.title.clone(),
            step: view.step.title.clone(),
            since: format!("depuis le {}", french::date(view.since)),
            standing,
            overdue: view.days_left.is_some_and(|d| d < 0),
            clock,
            passages,
            moves: view.moves.iter().map(|s| (s.code.clone(), s.title.clone())).collect(),
            reference: record.reference.to_string(),
            today: french::date(today),
        }
    }
}

/// A record of the work list.
pub struct WorkRow {
    reference: String,
    title: String,
    service: String,
    supplier: String,
    amount: String,
    panel: CircuitPanel,
}

#[derive(Template)]
#[template(path = "a_traiter.html")]
struct WorkListPage {
    frame: Frame,
    rows: Vec<WorkRow>,
    total: usize,
    overdue: usize,
    notice: Option<String>,
}

/// `?fait=REF`.
#[derive(Debug, Default, Deserialize)]
pub struct WorkListParams {
    #[serde(default)]
    fait: String,
}

/// « À traiter ».
pub async fn worklist(
    signed: Signed,
    archive: Data<Archive>,
    params: web::Query<WorkListParams>,
) -> Result<HttpResponse, PageError> {
    let actor = signed.actor.clone();
    let list = web::block(move || archive.worklist(&actor, crate::archive::circuits::WORKLIST_MAX)).await??;
    let rows = list
        .items
        .iter()
        .map(|item| {
            let field = |name: &Option<String>| name.as_ref().and_then(|n| item.record.fields.get(n)).cloned();
            WorkRow {
                reference: item.record.reference.to_string(),
                title: item.record.title.clone(),
                service: item.record.service.clone().unwrap_or_default(),
                supplier: field(&item.view.circuit.supplier).unwrap_or_default(),
                amount: field(&item.view.circuit.amount)
                    .and_then(|a| crate::domain::circuit::cents_of(&a))
                    .map(french::amount)
                    .unwrap_or_default(),
                panel: CircuitPanel::new(&item.record, &item.view),
            }
        })
        .collect();
    let notice = Some(params.fait.trim())
        .filter(|r| !r.is_empty())
        .map(|r| format!("{r} a avancé dans son circuit."));
    let page = WorkListPage {
        frame: signed.frame("À traiter", "worklist"),
        rows,
        total: list.total,
        overdue: list.overdue,
        notice,
    };
    Ok(html(StatusCode::OK, &page))
}

/// The move form.
#[derive(Debug, Deserialize)]
pub struct MoveForm {
    csrf: String,
    vers: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    commentaire: String,
    #[serde(default)]
    piece: String,
    #[serde(default)]
    retour: String,
}

/// Moves a record on from the work list or its page; back where the
/// person was, saying so.
pub async fn move_record(
    signed: Signed,
    archive: Data<Archive>,
    key: web::Path<String>,
    form: web::Form<MoveForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    signed.check_form(&form.csrf)?;
    let date = match form.date.trim() {
        "" => None,
        typed => Some(match french::parse_date(typed) {
            Some(day) => day.to_string(),
            None => {
                return Err(PageError::Archive(ArchiveError::Invalid(
                    crate::domain::record::InvalidInput::new(
                        "date",
                        format!("« {typed} » n'est pas une date (JJ/MM/AAAA)"),
                    ),
                )));
            }
        }),
    };
    let asked = Move {
        to: form.vers.clone(),
        date,
        comment: Some(form.commentaire.clone()),
        attachment: Some(form.piece.clone()),
    };
    let actor = signed.actor.clone();
    let key = key.into_inner();
    let record = web::block(move || archive.move_record(&actor, &key, asked)).await??;
    let reference = record.reference.to_string();
    let to = if form.retour == "document" {
        format!("/documents/{}?avance=1", super::url_encode(&reference))
    } else {
        format!("/a-traiter?fait={}", super::url_encode(&reference))
    };
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, to)).finish())
}

/// A délai's figures, said for people.
pub struct DelayRow {
    key: String,
    count: u64,
    mean: String,
    median: String,
    p90: String,
    late: String,
    ordonnateur_late: u64,
    comptable_late: u64,
    interest: String,
    indemnities: String,
}

impl DelayRow {
    fn new(key: String, s: &DelayStats) -> Self {
        DelayRow {
            key,
            count: s.count,
            mean: french::tenths(s.mean_days),
            median: french::tenths(s.median_days),
            p90: s.p90_days.to_string(),
            late: format!("{} ({}\u{a0}%)", s.late, french::tenths(s.late_share)),
            ordonnateur_late: s.ordonnateur_late,
            comptable_late: s.comptable_late,
            interest: french::amount(s.interest_cents),
            indemnities: french::amount(s.indemnity_cents),
        }
    }
}

/// The délais by service or by supplier.
pub struct GroupTable {
    caption: &'static str,
    header: &'static str,
    rows: Vec<DelayRow>,
}

/// A blockage, said for people.
pub struct BlockageRow {
    step: String,
    service: String,
    count: u64,
    ages: Vec<u64>,
    mean: String,
    oldest: i64,
    overdue: u64,
}

/// A line of the stock, said for people.
pub struct StockRow {
    key: String,
    records: u64,
    size: String,
}

/// A month's intake, said for people.
pub struct IntakeRow {
    month: String,
    records: u64,
    size: String,
    classified: String,
    eliminated: u64,
    transferred: u64,
}

#[derive(Template)]
#[template(path = "indicateurs.html")]
struct DashboardPage {
    frame: Frame,
    on: String,
    past: bool,
    filters: Filters,
    nodes: Vec<NodeOption>,
    overall: DelayRow,
    months: Vec<DelayRow>,
    groups: Vec<GroupTable>,
    chart: String,
    blockages: Vec<BlockageRow>,
    blockage_chart: String,
    ages: Vec<&'static str>,
    stock_total: StockRow,
    /// « en 2 exemplaires (2,4 Mo en tout) », or nothing for one.
    stock_copies: String,
    stock_nodes: Vec<StockRow>,
    stock_years: Vec<StockRow>,
    intake: Vec<IntakeRow>,
    intake_chart: String,
    channels: Vec<StockRow>,
    csv_href: String,
    capture: super::dashboard::CaptureSection,
    capture_csv: String,
    health: super::dashboard::HealthSection,
    health_csv: String,
    problem: Option<String>,
}

/// The dashboard's filters, as typed.
#[derive(Debug, Default, Deserialize, Clone)]
pub struct Filters {
    #[serde(default)]
    du: String,
    #[serde(default)]
    au: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    noeud: String,
    #[serde(default)]
    fournisseur: String,
    #[serde(default)]
    le: String,
}

impl Filters {
    /// The filter and the day asked, or what is wrong with them.
    fn read(&self) -> Result<(PaymentFilter, Option<chrono::NaiveDate>), String> {
        let day = |label: &str, text: &str| match text.trim() {
            "" => Ok(None),
            t => french::parse_date(t)
                .map(Some)
                .ok_or_else(|| format!("{label} : « {t} » n'est pas une date (JJ/MM/AAAA)")),
        };
        let text = |t: &str| Some(t.trim().to_owned()).filter(|t| !t.is_empty());
        let nodes = match self.noeud.trim() {
            "" => None,
            code => Some(vec![NodeCode::parse(code).map_err(|e| e.to_string())?]),
        };
        Ok((
            PaymentFilter {
                scope: Scope {
                    from: day("du", &self.du)?,
                    to: day("au", &self.au)?,
                    service: text(&self.service),
                    nodes,
                },
                supplier: text(&self.fournisseur),
            },
            day("à la date du", &self.le)?,
        ))
    }

    /// The same filters as the API's query string.
    fn api_query(&self, filter: &PaymentFilter, at: Option<chrono::NaiveDate>) -> String {
        let mut pairs = vec![("format".to_owned(), "csv".to_owned())];
        let scope = &filter.scope;
        if let Some(from) = scope.from {
            pairs.push(("from".into(), from.to_string()));
        }
        if let Some(to) = scope.to {
            pairs.push(("to".into(), to.to_string()));
        }
        if let Some(service) = &scope.service {
            pairs.push(("service".into(), service.clone()));
        }
        if let Some(nodes) = &scope.nodes {
            pairs.extend(nodes.iter().map(|n| ("node".to_owned(), n.to_string())));
        }
        if let Some(supplier) = &filter.supplier {
            pairs.push(("supplier".into(), supplier.clone()));
        }
        if let Some(at) = at {
            pairs.push(("at".into(), at.to_string()));
        }
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", super::url_encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// « Indicateurs ».
pub async fn dashboard(
    signed: Signed,
    archive: Data<Archive>,
    filters: web::Query<Filters>,
) -> Result<HttpResponse, PageError> {
    let filters = filters.into_inner();
    let (filter, at, problem) = match filters.read() {
        Ok((filter, at)) => (filter, at, None),
        Err(problem) => (PaymentFilter::default(), None, Some(problem)),
    };
    let actor = signed.actor.clone();
    let query = filters.api_query(&filter, at);
    let scope_query = filters.api_query(
        &PaymentFilter {
            supplier: None,
            ..filter.clone()
        },
        at,
    );
    let scope = filter.scope.clone();
    let (payments, on, blockages, stock, capture, health, plan, copies) = web::block(move || {
        let (payments, on) = archive.payment_indicators(&actor, filter, at)?;
        let (blockages, _) = archive.blockages(&actor, scope.clone(), at)?;
        let (stock, _) = archive.stock_indicators(&actor, scope.clone(), at)?;
        let copies = archive.copies_kept();
        let (capture, _) = archive.capture_indicators(&actor, scope.clone(), at)?;
        let (health, _) = archive.health_indicators(&actor, scope, at)?;
        let plan = archive.plan(&actor, None)?;
        Ok::<_, ArchiveError>((payments, on, blockages, stock, capture, health, plan, copies))
    })
    .await??;
    let stock_row = |key: String, s: &crate::domain::indicators::Stock| StockRow {
        key,
        records: s.records,
        size: french::size(s.bytes),
    };
    let mut channel_totals: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    for (_, channel, n) in &stock.channels {
        *channel_totals.entry(channel.clone()).or_default() += n;
    }
    let title_of = |circuit: &str, step: &str| {
        plan.plan
            .circuit(circuit)
            .and_then(|c| c.step(step))
            .map_or_else(|| step.to_owned(), |s| s.title.clone())
    };
    let blockage_rows: Vec<BlockageRow> = blockages
        .iter()
        .map(|b| BlockageRow {
            step: title_of(&b.circuit, &b.step),
            service: b.service.clone().unwrap_or_else(|| "(aucun)".into()),
            count: b.count,
            ages: b.buckets.to_vec(),
            mean: french::tenths(b.mean_days()),
            oldest: b.oldest_days,
            overdue: b.overdue,
        })
        .collect();
    let today = chrono::Utc::now().date_naive();
    let page = DashboardPage {
        frame: signed.frame("Indicateurs", "indicators"),
        on: french::date(on),
        past: on < today,
        nodes: node_options(&plan.plan),
        overall: DelayRow::new("Ensemble".into(), &payments.overall),
        months: payments
            .by_month
            .iter()
            .map(|(m, s)| DelayRow::new(month_words(m), s))
            .collect(),
        groups: [
            ("Délais par service", "Service", &payments.by_service),
            ("Délais par fournisseur", "Fournisseur", &payments.by_supplier),
        ]
        .into_iter()
        .map(|(caption, header, list)| GroupTable {
            caption,
            header,
            rows: list
                .iter()
                .map(|(k, s)| DelayRow::new(k.clone().unwrap_or_else(|| "(aucun)".into()), s))
                .collect(),
        })
        .collect(),
        chart: delay_chart(&payments),
        blockage_chart: blockage_chart(&blockages, &blockage_rows),
        blockages: blockage_rows,
        ages: AGE_BUCKETS.to_vec(),
        stock_total: stock_row("Ensemble".into(), &stock.total),
        stock_copies: if copies > 1 {
            format!(
                ", chacun en {copies} exemplaires ({} en tout)",
                french::size(stock.total.bytes.saturating_mul(copies))
            )
        } else {
            String::new()
        },
        stock_nodes: stock
            .by_node
            .iter()
            .map(|(code, s)| {
                let label = NodeCode::parse(code)
                    .ok()
                    .and_then(|c| plan.plan.node(&c).map(|n| format!("{} ({code})", n.title)))
                    .unwrap_or_else(|| code.clone());
                stock_row(label, s)
            })
            .collect(),
        stock_years: stock.by_year.iter().map(|(y, s)| stock_row(y.to_string(), s)).collect(),
        intake: stock
            .months
            .iter()
            .map(|(m, i)| IntakeRow {
                month: month_words(m),
                records: i.records,
                size: french::size(i.bytes),
                classified: super::dashboard::percent(crate::domain::indicators::capture::rate(
                    i.classified,
                    i.records,
                )),
                eliminated: i.eliminated,
                transferred: i.transferred,
            })
            .collect(),
        intake_chart: bar_chart(
            "g-entrees",
            "Documents déposés, par mois",
            "Une barre par mois de dépôt. Les chiffres sont dans le tableau qui suit.",
            &stock
                .months
                .iter()
                .map(|(m, i)| Bar {
                    month: m.clone(),
                    value: i.records as f64,
                    alarm: false,
                    tip: format!("{} : {} documents déposés", month_words(m), i.records),
                })
                .collect::<Vec<_>>(),
            None,
        ),
        channels: channel_totals
            .into_iter()
            .map(|(channel, n)| StockRow {
                key: if channel == "api" {
                    "Dépôts directs (pages, API, ligne de commande)".into()
                } else {
                    french::channel(&channel)
                },
                records: n,
                size: String::new(),
            })
            .collect(),
        csv_href: format!("/api/v1/indicators/payments?{query}"),
        capture: super::dashboard::CaptureSection::new(&capture),
        capture_csv: format!("/api/v1/indicators/capture?{scope_query}"),
        health: super::dashboard::HealthSection::new(&health),
        health_csv: format!("/api/v1/indicators/health?{scope_query}"),
        filters,
        problem,
    };
    Ok(html(StatusCode::OK, &page))
}

/// `2024-03` as « mars 2024 ».
pub(super) fn month_words(month: &str) -> String {
    const MONTHS: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    match month
        .split_once('-')
        .and_then(|(y, m)| Some((y, m.parse::<usize>().ok()?)))
    {
        Some((year, m)) if (1..=12).contains(&m) => format!("{} {year}", MONTHS[m - 1]),
        _ => month.to_owned(),
    }
}

/// The mean délai by month as bars, with the legal 30 days as a line; the
/// table beside it says the same figures.
fn delay_chart(payments: &PaymentIndicators) -> String {
    let bars: Vec<Bar> = payments
        .by_month
        .iter()
        .map(|(month, stats)| Bar {
            month: month.clone(),
            value: stats.mean_days,
            alarm: stats.mean_days > 30.0,
            tip: format!(
                "{} : {} jours en moyenne",
                month_words(month),
                french::tenths(stats.mean_days)
            ),
        })
        .collect();
    bar_chart(
        "g-delais",
        "Délai global de paiement moyen, par mois de paiement",
        "Une barre par mois ; la ligne marque le délai légal de 30 jours. Les chiffres sont dans le tableau qui suit.",
        &bars,
        Some((30.0, "30 jours")),
    )
}

/// One bar of a chart by month.
pub(super) struct Bar {
    /// The month (`2024-03`).
    pub month: String,
    /// Its height.
    pub value: f64,
    /// Drawn in red (over a limit).
    pub alarm: bool,
    /// What a pointer over it says.
    pub tip: String,
}

/// Bars by month (`2024-03` labelled `03/24`), with an optional line (the
/// legal delay); `role="img"`, its title and description named for screen
/// readers, whose figures a table beside it gives.
pub(super) fn bar_chart(id: &str, title: &str, desc: &str, bars: &[Bar], line: Option<(f64, &str)>) -> String {
    if bars.is_empty() {
        return String::new();
    }
    let (width, height, left, bottom, top) = (720.0_f64, 260.0_f64, 52.0_f64, 48.0_f64, 16.0_f64);
    let max = bars
        .iter()
        .map(|b| b.value)
        .fold(line.map_or(0.0, |(v, _)| v), f64::max)
        .ceil()
        .max(1.0);
    let plot = height - bottom - top;
    let y = |v: f64| top + plot - v / max * plot;
    let slot = (width - left - 8.0) / bars.len() as f64;
    let bar = (slot * 0.6).max(2.0);
    let mut svg = format!(
        "<svg class=\"graphique\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-labelledby=\"{id}-titre {id}-desc\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"{id}-titre\">{}</title><desc id=\"{id}-desc\">{}</desc>",
        crate::documents::html(title),
        crate::documents::html(desc)
    );
    for tick in [0.0, max / 2.0, max] {
        svg.push_str(&format!(
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#767676\" stroke-width=\"0.5\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"11\" fill=\"#1a1a1a\">{}</text>",
            width - 8.0,
            left - 4.0,
            y(tick) + 4.0,
            french::tenths(tick),
            y = y(tick)
        ));
    }
    for (i, b) in bars.iter().enumerate() {
        let x = left + slot * i as f64 + (slot - bar) / 2.0;
        let top_y = y(b.value);
        let fill = if b.alarm { "#b3261e" } else { "#1d4f91" };
        svg.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{top_y:.1}\" width=\"{bar:.1}\" height=\"{:.1}\" fill=\"{fill}\"><title>{}</title></rect>",
            (height - bottom - top_y).max(0.0),
            crate::documents::html(&b.tip)
        ));
        let short = b
            .month
            .get(5..7)
            .zip(b.month.get(2..4))
            .map_or_else(String::new, |(m, y)| format!("{m}/{y}"));
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\" fill=\"#1a1a1a\">{}</text>",
            x + bar / 2.0,
            height - bottom + 16.0,
            crate::documents::html(&short)
        ));
    }
    if let Some((value, label)) = line {
        let at = y(value);
        svg.push_str(&format!(
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{at:.1}\" y2=\"{at:.1}\" stroke=\"#1a1a1a\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"12\" fill=\"#1a1a1a\">{}</text>",
            width - 8.0,
            width - 8.0,
            at - 4.0,
            crate::documents::html(label)
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// The colours of the age buckets (each at least 3:1 against white).
const AGE_COLOURS: [&str; 4] = ["#1d4f91", "#6a4c93", "#a15c00", "#b3261e"];

/// What waits where as stacked bars, one per step and service, coloured by
/// age; the table beside it says the same figures.
fn blockage_chart(blockages: &[Blockage], rows: &[BlockageRow]) -> String {
    if blockages.is_empty() {
        return String::new();
    }
    let (width, row_height, left) = (720.0_f64, 28.0_f64, 220.0_f64);
    let height = row_height * blockages.len() as f64 + 40.0;
    let max = blockages.iter().map(|b| b.count).max().unwrap_or(1).max(1) as f64;
    let scale = (width - left - 16.0) / max;
    let mut svg = format!(
        "<svg class=\"graphique\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-labelledby=\"g-attente-titre g-attente-desc\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"g-attente-titre\">Documents en attente, par étape et service, selon leur ancienneté</title>\
         <desc id=\"g-attente-desc\">Une barre par étape et service, partagée selon les jours passés à l'étape. Les chiffres sont dans le tableau qui suit.</desc>"
    );
    for (i, (b, row)) in blockages.iter().zip(rows).enumerate() {
        let y = 8.0 + row_height * i as f64;
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"12\" fill=\"#1a1a1a\">{}</text>",
            left - 6.0,
            y + 15.0,
            crate::documents::html(&format!("{} – {}", row.step, row.service))
        ));
        let mut x = left;
        for (bucket, n) in b.buckets.iter().enumerate() {
            if *n == 0 {
                continue;
            }
            let w = *n as f64 * scale;
            svg.push_str(&format!(
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"20\" fill=\"{}\" stroke=\"#ffffff\" stroke-width=\"1\"><title>{} jours : {n}</title></rect>",
                AGE_COLOURS[bucket],
                AGE_BUCKETS[bucket]
            ));
            x += w;
        }
    }
    let legend_y = height - 14.0;
    for (bucket, name) in AGE_BUCKETS.iter().enumerate() {
        let x = left + 110.0 * bucket as f64;
        svg.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{legend_y:.1}\" font-size=\"12\" fill=\"#1a1a1a\">{} jours</text>",
            legend_y - 10.0,
            AGE_COLOURS[bucket],
            x + 16.0,
            name.replace('-', " à ")
        ));
    }
    svg.push_str("</svg>");
    svg
}
