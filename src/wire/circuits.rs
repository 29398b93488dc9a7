//! Processing circuits: where a record stands, a move asked for, work
//! lists, and the circuits' indicators (payment chain, blockages).

use crate::archive::circuits::{CircuitView, Move, WorkList};
use crate::domain::circuit::Step;
use crate::domain::indicators::{AGE_BUCKETS, Blockage, DelayStats, PaymentIndicators};
use crate::domain::record::Record;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A step, named.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct StepDto {
    /// Its code (`service_fait`).
    pub step: String,
    /// Its name (« Service fait »).
    pub title: String,
}

impl From<&Step> for StepDto {
    fn from(s: &Step) -> Self {
        StepDto {
            step: s.code.clone(),
            title: s.title.clone(),
        }
    }
}

/// One stay at a step.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct PassageDto {
    /// The step's code.
    pub step: String,
    /// Its name (the code, when the circuit no longer has it).
    pub title: String,
    /// The day the record arrived there.
    pub from: String,
}

/// Where a record stands in its processing circuit.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct CirculationDto {
    /// The circuit's code (`facture`).
    pub circuit: String,
    /// Its name.
    pub circuit_title: String,
    /// The step it is at.
    pub step: StepDto,
    /// Since when (YYYY-MM-DD).
    pub since: String,
    /// It still waits for someone (its step is not the circuit's end).
    pub open: bool,
    /// Days left at this step before it is overdue (negative: late by that
    /// many), when the step allows a number of days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_left: Option<i64>,
    /// Days the circuit's clock ran, up to today or to the payment.
    pub days_running: i64,
    /// Days it was suspended.
    pub days_suspended: i64,
    /// Running days at the ordonnateur's steps.
    pub days_ordonnateur: i64,
    /// Running days at the public accountant's steps.
    pub days_comptable: i64,
    /// The circuit's total delay, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_days: Option<u32>,
    /// Every step it stayed at, oldest first.
    pub passages: Vec<PassageDto>,
    /// The moves the caller may make from here (empty: none of theirs).
    pub moves: Vec<StepDto>,
}

impl CirculationDto {
    /// A record's place in its circuit, as its reader may act on it.
    pub fn new(record: &Record, view: &CircuitView) -> Option<Self> {
        let circulation = record.circulation.as_ref()?;
        Some(CirculationDto {
            circuit: view.circuit.code.clone(),
            circuit_title: view.circuit.title.clone(),
            step: StepDto::from(&view.step),
            since: view.since.to_string(),
            open: circulation.open,
            days_left: view.days_left,
            days_running: view.clock.running,
            days_suspended: view.clock.suspended,
            days_ordonnateur: view.clock.ordonnateur,
            days_comptable: view.clock.comptable,
            total_days: view.circuit.total_days,
            passages: circulation
                .passages
                .iter()
                .map(|p| PassageDto {
                    step: p.step.clone(),
                    title: view
                        .circuit
                        .step(&p.step)
                        .map_or_else(|| p.step.clone(), |s| s.title.clone()),
                    from: p.from.to_string(),
                })
                .collect(),
            moves: view.moves.iter().map(StepDto::from).collect(),
        })
    }
}

/// `POST /records/{ref}/moves` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveDto {
    /// The step to reach (its code), one the record's step allows.
    pub to: String,
    /// The day the move took effect (YYYY-MM-DD), between the day the record
    /// reached its step and today; today when absent.
    #[serde(default)]
    pub date: Option<String>,
    /// Why, or what was done (2,000 characters at most).
    #[serde(default)]
    pub comment: Option<String>,
    /// An archived record that goes with the move (its reference or id): a
    /// letter asking for a missing piece, a rejection.
    #[serde(default)]
    pub attachment: Option<String>,
}

impl From<MoveDto> for Move {
    fn from(dto: MoveDto) -> Self {
        Move {
            to: dto.to,
            date: dto.date,
            comment: dto.comment,
            attachment: dto.attachment,
        }
    }
}

/// One record of a work list.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct WorkItemDto {
    /// Its id.
    pub id: String,
    /// Its reference.
    pub reference: String,
    /// Its title.
    pub title: String,
    /// Its node.
    pub node: String,
    /// Its producing service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Its supplier, when its circuit names the field and it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<String>,
    /// Its amount (decimal), when its circuit names the field and it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// Where it stands.
    pub circulation: CirculationDto,
    /// Past its step's delay.
    pub overdue: bool,
}

/// `GET /worklist`: what waits for the caller.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct WorkListDto {
    /// Records waiting for the caller in all (`items` may stop at `limit`).
    pub total: usize,
    /// How many of them are overdue.
    pub overdue: usize,
    /// Overdue first (most late first), then by days left, then oldest.
    pub items: Vec<WorkItemDto>,
}

impl WorkListDto {
    /// The list as the archive drew it up.
    pub fn new(list: &WorkList) -> Self {
        WorkListDto {
            total: list.total,
            overdue: list.overdue,
            items: list
                .items
                .iter()
                .filter_map(|item| {
                    let field = |name: &Option<String>| name.as_ref().and_then(|n| item.record.fields.get(n)).cloned();
                    Some(WorkItemDto {
                        id: item.record.id.to_string(),
                        reference: item.record.reference.to_string(),
                        title: item.record.title.clone(),
                        node: item.record.node.to_string(),
                        service: item.record.service.clone(),
                        supplier: field(&item.view.circuit.supplier),
                        amount: field(&item.view.circuit.amount),
                        circulation: CirculationDto::new(&item.record, &item.view)?,
                        overdue: item.view.days_left.is_some_and(|d| d < 0),
                    })
                })
                .collect(),
        }
    }
}

/// The délais of a set of payments (definitions in the README).
#[derive(Serialize, Deserialize, ToSchema, Clone)]
pub struct DelayStatsDto {
    /// Payments.
    pub count: u64,
    /// Mean délai global de paiement, in days, to a tenth.
    pub mean_days: f64,
    /// Median délai (the mean of the two middle ones for an even count).
    pub median_days: f64,
    /// 90th percentile (nearest rank: the délai at rank ⌈0.9 n⌉).
    pub p90_days: i64,
    /// The longest délai.
    pub max_days: i64,
    /// Payments over the circuit's total delay (30 days).
    pub late: u64,
    /// Their share, in percent to a tenth.
    pub late_share: f64,
    /// Payments whose ordonnateur's part is over 20 days.
    pub ordonnateur_late: u64,
    /// Payments whose public accountant's part is over 10 days.
    pub comptable_late: u64,
    /// Mean ordonnateur's part, in days.
    pub ordonnateur_mean_days: f64,
    /// Mean accountant's part, in days.
    pub comptable_mean_days: f64,
    /// Late-payment interest owed, in euros (decimal, two places).
    pub interest: String,
    /// Indemnities owed (40 € per late payment), in euros.
    pub indemnities: String,
}

impl From<&DelayStats> for DelayStatsDto {
    fn from(s: &DelayStats) -> Self {
        DelayStatsDto {
            count: s.count,
            mean_days: s.mean_days,
            median_days: s.median_days,
            p90_days: s.p90_days,
            max_days: s.max_days,
            late: s.late,
            late_share: s.late_share,
            ordonnateur_late: s.ordonnateur_late,
            comptable_late: s.comptable_late,
            ordonnateur_mean_days: s.ordonnateur_mean_days,
            comptable_mean_days: s.comptable_mean_days,
            interest: crate::french::decimal_text(s.interest_cents),
            indemnities: crate::french::decimal_text(s.indemnity_cents),
        }
    }
}

/// One group's délais.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct DelayGroupDto {
    /// The month (`2024-03`), the service or the supplier (absent: none
    /// said).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Its délais.
    #[serde(flatten)]
    pub stats: DelayStatsDto,
}

/// `GET /indicators/payments`: the payment chain.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct PaymentIndicatorsDto {
    /// The day the figures are for (the journal as it stood at its end).
    pub on: String,
    /// Every payment kept by the filters.
    pub overall: DelayStatsDto,
    /// By month of payment.
    pub by_month: Vec<DelayGroupDto>,
    /// By service.
    pub by_service: Vec<DelayGroupDto>,
    /// By supplier.
    pub by_supplier: Vec<DelayGroupDto>,
}

impl PaymentIndicatorsDto {
    /// The indicators for `on`.
    pub fn new(i: &PaymentIndicators, on: chrono::NaiveDate) -> Self {
        let groups = |list: &[(Option<String>, DelayStats)]| {
            list.iter()
                .map(|(key, stats)| DelayGroupDto {
                    key: key.clone(),
                    stats: DelayStatsDto::from(stats),
                })
                .collect()
        };
        PaymentIndicatorsDto {
            on: on.to_string(),
            overall: DelayStatsDto::from(&i.overall),
            by_month: i
                .by_month
                .iter()
                .map(|(month, stats)| DelayGroupDto {
                    key: Some(month.clone()),
                    stats: DelayStatsDto::from(stats),
                })
                .collect(),
            by_service: groups(&i.by_service),
            by_supplier: groups(&i.by_supplier),
        }
    }
}

/// Records waiting at one step for one service.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct BlockageDto {
    /// The circuit.
    pub circuit: String,
    /// The step.
    pub step: String,
    /// The step's name.
    pub title: String,
    /// The service acting there (the step's, else the records').
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Records waiting.
    pub count: u64,
    /// By days at the step: `0-10` (under 10), `10-20`, `20-30`, `30+`.
    pub ages: std::collections::BTreeMap<String, u64>,
    /// Mean days at the step, to a tenth.
    pub mean_days: f64,
    /// The longest wait.
    pub oldest_days: i64,
    /// How many are past the step's delay.
    pub overdue: u64,
}

/// `GET /indicators/blockages`: what waits where.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct BlockagesDto {
    /// The day the figures are for.
    pub on: String,
    /// The longest mean wait first.
    pub blockages: Vec<BlockageDto>,
}

impl BlockagesDto {
    /// The blockages on `on`, steps named by `title_of(circuit, step)`.
    pub fn new(list: &[Blockage], on: chrono::NaiveDate, title_of: impl Fn(&str, &str) -> String) -> Self {
        BlockagesDto {
            on: on.to_string(),
            blockages: list
                .iter()
                .map(|b| BlockageDto {
                    circuit: b.circuit.clone(),
                    step: b.step.clone(),
                    title: title_of(&b.circuit, &b.step),
                    service: b.service.clone(),
                    count: b.count,
                    ages: AGE_BUCKETS
                        .iter()
                        .zip(b.buckets)
                        .map(|(name, n)| ((*name).to_owned(), n))
                        .collect(),
                    mean_days: b.mean_days(),
                    oldest_days: b.oldest_days,
                    overdue: b.overdue,
                })
                .collect(),
        }
    }
}

/// Records and bytes of one group of the stock.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct StockDto {
    /// The node, service, type or year (absent: none said).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Live records.
    pub records: u64,
    /// Their versions' bytes.
    pub bytes: u64,
}

/// One month's intake and departures.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct MonthIntakeDto {
    /// The month (`2024-03`).
    pub month: String,
    /// Records deposited.
    pub records: u64,
    /// Bytes deposited (first versions and new ones).
    pub bytes: u64,
    /// Records whose node a classification rule chose.
    pub classified: u64,
    /// Their share of the records deposited, in percent to a tenth.
    pub classified_share: f64,
    /// Records eliminated.
    pub eliminated: u64,
    /// Records transferred to the archives service.
    pub transferred: u64,
}

/// What one capture channel brought one day.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ChannelDayDto {
    /// The day.
    pub day: String,
    /// The channel (`api` for the API and the command line, `dossier:NAME`,
    /// `messagerie:NAME`).
    pub channel: String,
    /// Records deposited.
    pub records: u64,
}

/// `GET /indicators/stocks`: the stock and the intake.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct StockIndicatorsDto {
    /// The day the figures are for.
    pub on: String,
    /// Every live record the caller may read.
    pub total: StockDto,
    /// By node.
    pub by_node: Vec<StockDto>,
    /// By producing service.
    pub by_service: Vec<StockDto>,
    /// By document type.
    pub by_type: Vec<StockDto>,
    /// By the year of the records' dates.
    pub by_year: Vec<StockDto>,
    /// Each month's intake and departures, in order.
    pub months: Vec<MonthIntakeDto>,
    /// Records each capture channel brought each day, in order.
    pub channels: Vec<ChannelDayDto>,
    /// The places each content is kept in: the data directory and each
    /// copy store (as configured now).
    pub copies: u64,
    /// The stock's bytes in all those places (`total.bytes` × `copies`).
    pub stored_bytes: u64,
}

impl StockIndicatorsDto {
    /// The stock on `on`, each content kept in `copies` places.
    pub fn new(s: &crate::domain::indicators::StockIndicators, on: chrono::NaiveDate, copies: u64) -> Self {
        use crate::domain::indicators::Stock;
        let line = |key: Option<String>, stock: &Stock| StockDto {
            key,
            records: stock.records,
            bytes: stock.bytes,
        };
        StockIndicatorsDto {
            on: on.to_string(),
            total: line(None, &s.total),
            by_node: s.by_node.iter().map(|(k, v)| line(Some(k.clone()), v)).collect(),
            by_service: s.by_service.iter().map(|(k, v)| line(k.clone(), v)).collect(),
            by_type: s.by_type.iter().map(|(k, v)| line(k.clone(), v)).collect(),
            by_year: s.by_year.iter().map(|(k, v)| line(Some(k.to_string()), v)).collect(),
            months: s
                .months
                .iter()
                .map(|(month, m)| MonthIntakeDto {
                    month: month.clone(),
                    records: m.records,
                    bytes: m.bytes,
                    classified: m.classified,
                    classified_share: crate::domain::indicators::capture::rate(m.classified, m.records).unwrap_or(0.0),
                    eliminated: m.eliminated,
                    transferred: m.transferred,
                })
                .collect(),
            channels: s
                .channels
                .iter()
                .map(|(day, channel, n)| ChannelDayDto {
                    day: day.to_string(),
                    channel: channel.clone(),
                    records: *n,
                })
                .collect(),
            copies,
            stored_bytes: s.total.bytes.saturating_mul(copies),
        }
    }
}

/// A person a summary could not be mailed to.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct SummaryFailureDto {
    /// Their user name.
    pub user: String,
    /// What the mail server or the address said.
    pub reason: String,
}

/// `POST /worklist/summaries`: what a round of daily summaries did.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct SummariesDto {
    /// The people a summary was mailed to (user names).
    pub sent: Vec<String>,
    /// People with an address and nothing waiting for them (no mail).
    pub nothing_waiting: usize,
    /// Those it could not be mailed to.
    pub failed: Vec<SummaryFailureDto>,
}
