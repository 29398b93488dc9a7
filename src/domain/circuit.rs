//! Processing circuits: the steps a record goes through in the services (an
//! invoice: reçue → service fait → mandatée → payée, with suspendue and
//! rejetée), who acts at each step, the delay each step allows, and how the
//! clock of the délai global de paiement runs, stops and is suspended. A
//! record's passage through its circuit, the moves a step allows, the
//! payment clock read from the passage, and the interest and indemnity a
//! late payment owes (décret n° 2013-269: the ECB's main refinancing rate in
//! force on the first day of the half-year the interest starts in, plus 8
//! points, on the amount due, per day over 365; 40 € per late invoice).
//!
//! Days are whole calendar days between the dates of the moves: a step
//! entered on the 1st and left on the 10th lasted 9 days.

use super::record::NodeCode;
use super::role::Role;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// The late-payment indemnity for each late invoice, in cents (40 €,
/// article D. 2192-35 of the code de la commande publique).
pub const LATE_INDEMNITY_CENTS: i64 = 4_000;

/// The points added to the ECB rate for late-payment interest, in basis
/// points (8 points).
pub const LATE_MARGIN_BP: i64 = 800;

/// What the clock of a circuit does while a record is at a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// It runs: the days count toward the delay.
    Runs,
    /// It is suspended (an invoice sent back for a missing piece): the days
    /// do not count, and it resumes at the next step that runs.
    Suspended,
    /// It is stopped: the circuit ends here (paid, rejected).
    Stopped,
}

impl Clock {
    /// Parses `runs`, `suspended` or `stopped`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "runs" => Some(Clock::Runs),
            "suspended" => Some(Clock::Suspended),
            "stopped" => Some(Clock::Stopped),
            _ => None,
        }
    }
}

/// Whose part of the délai global de paiement a step's days are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// The ordonnateur's (the collectivité, from receipt to mandatement):
    /// 20 days by convention.
    Ordonnateur,
    /// The public accountant's (from mandatement to payment): 10 days.
    Comptable,
}

impl Part {
    /// Parses `ordonnateur` or `comptable`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "ordonnateur" => Some(Part::Ordonnateur),
            "comptable" => Some(Part::Comptable),
            _ => None,
        }
    }

    /// The days this part is allowed by convention.
    pub fn allowed_days(self) -> i64 {
        match self {
            Part::Ordonnateur => 20,
            Part::Comptable => 10,
        }
    }
}

/// What a flow says of a record, which moves it on by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The public accountant's acknowledgement accepts the PES flow the
    /// record is part of (a mandat, a bordereau, a pièce justificative).
    PesAccepted,
    /// The acknowledgement rejects it.
    PesRejected,
    /// An e-invoice lifecycle message (CDV, a CDAR message of the French
    /// e-invoicing reform) gives the invoice this status (`cdv:208`:
    /// suspended).
    InvoiceStatus(u16),
}

impl Trigger {
    /// Parses `pes_accepted`, `pes_rejected` or `cdv:NNN` (a status of the
    /// e-invoice lifecycle, [`INVOICE_STATUSES`]).
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pes_accepted" => Some(Trigger::PesAccepted),
            "pes_rejected" => Some(Trigger::PesRejected),
            other => other
                .strip_prefix("cdv:")
                .and_then(|code| code.parse::<u16>().ok())
                .filter(|code| invoice_status_label(*code).is_some())
                .map(Trigger::InvoiceStatus),
        }
    }
}

/// The statuses of an e-invoice's lifecycle (AFNOR XP Z12-012, the French
/// e-invoicing reform's CDV messages): code and label.
pub const INVOICE_STATUSES: [(u16, &str); 15] = [
    (200, "Déposée"),
    (201, "Émise par la plateforme"),
    (202, "Reçue par la plateforme"),
    (203, "Mise à disposition"),
    (204, "Prise en charge"),
    (205, "Approuvée"),
    (206, "Approuvée partiellement"),
    (207, "En litige"),
    (208, "Suspendue"),
    (209, "Complétée"),
    (210, "Refusée"),
    (211, "Paiement transmis"),
    (212, "Encaissée"),
    (213, "Rejetée"),
    (501, "Irrecevable"),
];

/// The label of a lifecycle status (`208` → « Suspendue »).
pub fn invoice_status_label(code: u16) -> Option<&'static str> {
    INVOICE_STATUSES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, label)| *label)
}

/// One step of a circuit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Its code (`recue`, `service_fait`), unique in the circuit.
    pub code: String,
    /// Its name for people (« Reçue »).
    pub title: String,
    /// The roles that may move a record on from this step (empty: anyone
    /// who may deposit in the record's node).
    pub roles: Vec<Role>,
    /// The service that acts at this step; `None`: the record's own service.
    pub service: Option<String>,
    /// The days a record may stay at this step before it is overdue.
    pub days: Option<u32>,
    /// What the clock does here.
    pub clock: Clock,
    /// Whose part of the payment delay the days here are.
    pub part: Option<Part>,
    /// The steps a record may move to from here, in the file's order.
    pub moves: Vec<String>,
    /// Reaching this step is the payment: the délai global de paiement is
    /// measured up to here.
    pub paid: bool,
    /// What moves a record here by itself, from a step that allows it.
    pub when: Vec<Trigger>,
}

impl Step {
    /// Whether the circuit ends here (no move leaves it).
    pub fn is_final(&self) -> bool {
        self.moves.is_empty()
    }

    /// Whether `role`, of `service`, acts at this step for a record of
    /// `record_service` (the step's roles, or any role when it names none;
    /// the step's service, or the record's, unless the person has none:
    /// people without a service act for every service).
    pub fn acted_by(&self, role: Role, service: Option<&str>, record_service: Option<&str>) -> bool {
        let role_fits = self.roles.is_empty() || self.roles.contains(&role) || role == Role::Admin;
        let wanted = self.service.as_deref().or(record_service);
        let service_fits = match (service, wanted) {
            (Some(mine), Some(wanted)) => mine == wanted,
            _ => true,
        };
        role_fits && service_fits
    }
}

/// A processing circuit, as the plan defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Circuit {
    /// Its code (`facture`).
    pub code: String,
    /// Its name for people.
    pub title: String,
    /// The nodes whose records (their subtrees' too) enter it at deposit.
    pub nodes: Vec<NodeCode>,
    /// The date field that gives the day a record was received (else the
    /// day of its deposit).
    pub received: Option<String>,
    /// The decimal field that gives the amount due (late interest).
    pub amount: Option<String>,
    /// The field that names the supplier.
    pub supplier: Option<String>,
    /// The days the whole circuit allows while its clock runs (30 for a
    /// collectivité's payment).
    pub total_days: Option<u32>,
    /// Whether a payment later than `total_days` owes interest and the
    /// indemnity.
    pub late_payment: bool,
    /// Its steps; the first is where records enter.
    pub steps: Vec<Step>,
}

/// A move a step does not allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveRefused {
    /// The step the record is at.
    pub from: String,
    /// The step asked for.
    pub to: String,
    /// The moves the step allows (codes).
    pub allowed: Vec<String>,
}

impl Circuit {
    /// The step with this code.
    pub fn step(&self, code: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.code == code)
    }

    /// The step records enter at.
    pub fn start(&self) -> Option<&Step> {
        self.steps.first()
    }

    /// The step a record at `from` reaches by itself when `trigger` happens:
    /// the first step that `trigger` leads to among those `from` allows.
    pub fn automatic_move(&self, from: &str, trigger: Trigger) -> Option<&Step> {
        let from = self.step(from)?;
        from.moves
            .iter()
            .filter_map(|code| self.step(code))
            .find(|step| step.when.contains(&trigger))
    }

    /// The step a record at `from` reaches by moving to `to`, if `from`
    /// allows it.
    pub fn check_move(&self, from: &str, to: &str) -> Result<&Step, MoveRefused> {
        let refused = || MoveRefused {
            from: from.to_owned(),
            to: to.to_owned(),
            allowed: self.step(from).map(|s| s.moves.clone()).unwrap_or_default(),
        };
        let step = self.step(from).ok_or_else(refused)?;
        if !step.moves.iter().any(|m| m == to) {
            return Err(refused());
        }
        self.step(to).ok_or_else(refused)
    }

    /// The problems of this circuit (`at` is its path in the file, such as
    /// `circuits[0]`): codes unique, moves to steps that exist, a start
    /// that is not final, payment steps that stop the clock.
    pub fn problems(&self, at: &str) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        if self.steps.is_empty() {
            problems.push((format!("{at}.steps"), "un circuit a au moins une étape".to_owned()));
        }
        for (i, step) in self.steps.iter().enumerate() {
            if self.steps[..i].iter().any(|s| s.code == step.code) {
                problems.push((
                    format!("{at}.steps[{i}].code"),
                    format!("l'étape « {} » est déjà définie dans ce circuit", step.code),
                ));
            }
            for (j, to) in step.moves.iter().enumerate() {
                if self.step(to).is_none() {
                    problems.push((
                        format!("{at}.steps[{i}].moves[{j}]"),
                        format!(
                            "aucune étape n'a le code « {to} » ; ce sont : {}",
                            self.steps
                                .iter()
                                .map(|s| s.code.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
                if to == &step.code {
                    problems.push((
                        format!("{at}.steps[{i}].moves[{j}]"),
                        "une étape ne mène pas à elle-même".to_owned(),
                    ));
                }
            }
            if step.paid && step.clock != Clock::Stopped {
                problems.push((
                    format!("{at}.steps[{i}].clock"),
                    "l'étape du paiement arrête le délai : clock = \"stopped\"".to_owned(),
                ));
            }
            if step.clock == Clock::Stopped && !step.is_final() {
                problems.push((
                    format!("{at}.steps[{i}].moves"),
                    "une étape qui arrête le délai termine le circuit : aucun mouvement n'en part".to_owned(),
                ));
            }
        }
        if self.start().is_some_and(Step::is_final) {
            problems.push((
                format!("{at}.steps[0].moves"),
                "la première étape, où les documents entrent, doit mener à une autre".to_owned(),
            ));
        }
        if self.late_payment && (self.total_days.is_none() || self.amount.is_none()) {
            problems.push((
                format!("{at}.late_payment"),
                "les intérêts de retard se comptent sur un délai total (total_days) et un montant (amount)".to_owned(),
            ));
        }
        if self.late_payment && !self.steps.iter().any(|s| s.paid) {
            problems.push((
                format!("{at}.late_payment"),
                "les intérêts de retard demandent une étape de paiement (paid = true)".to_owned(),
            ));
        }
        problems
    }
}

/// One stay of a record at a step: from the day it arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Passage {
    /// The step.
    pub step: String,
    /// The day it arrived there.
    pub from: NaiveDate,
}

/// Where a record stands in its circuit, as the catalog keeps it: every
/// step it stayed at, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Circulation {
    /// The circuit's code.
    pub circuit: String,
    /// Its passages, oldest first; never empty.
    pub passages: Vec<Passage>,
    /// Whether it still waits for someone (its step is not final).
    pub open: bool,
}

impl Circulation {
    /// The step it is at.
    pub fn step(&self) -> &str {
        self.passages.last().map_or("", |p| p.step.as_str())
    }

    /// The day it arrived at its step.
    pub fn since(&self) -> Option<NaiveDate> {
        self.passages.last().map(|p| p.from)
    }

    /// The day it entered the circuit.
    pub fn entered(&self) -> Option<NaiveDate> {
        self.passages.first().map(|p| p.from)
    }
}

/// A record waiting at a step of its circuit, as the catalog lists them for
/// work lists (enough to sort and filter them without reading the record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiting {
    /// The record.
    pub record: super::record::RecordId,
    /// Its circuit.
    pub circuit: String,
    /// The step it waits at.
    pub step: String,
    /// Since when.
    pub since: NaiveDate,
    /// The day it entered the circuit.
    pub entered: NaiveDate,
    /// Its producing service.
    pub service: Option<String>,
    /// Its node.
    pub node: NodeCode,
}

impl Waiting {
    /// What the catalog lists of a record, if it waits in a circuit.
    pub fn of(record: &super::record::Record) -> Option<Waiting> {
        let circulation = record.circulation.as_ref().filter(|c| c.open)?;
        Some(Waiting {
            record: record.id,
            circuit: circulation.circuit.clone(),
            step: circulation.step().to_owned(),
            since: circulation.since()?,
            entered: circulation.entered()?,
            service: record.service.clone(),
            node: record.node.clone(),
        })
    }
}

/// The payment clock of a passage through a circuit, read on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PaymentClock {
    /// Days the clock ran.
    pub running: i64,
    /// Days it was suspended.
    pub suspended: i64,
    /// Running days at the ordonnateur's steps.
    pub ordonnateur: i64,
    /// Running days at the accountant's steps.
    pub comptable: i64,
    /// The day a payment step was reached.
    pub paid_on: Option<NaiveDate>,
    /// The day the clock reached the circuit's total delay, when it did.
    pub expired_on: Option<NaiveDate>,
}

impl PaymentClock {
    /// The days over the total delay (0 within it).
    pub fn days_over(&self, total_days: u32) -> i64 {
        (self.running - i64::from(total_days)).max(0)
    }
}

/// Reads the clock of `passages` through `circuit` up to `until` (or up to
/// the payment, if it came first). Steps the circuit no longer has count
/// as running (their days are not lost).
pub fn payment_clock(circuit: &Circuit, passages: &[Passage], until: NaiveDate) -> PaymentClock {
    let mut clock = PaymentClock::default();
    for (i, passage) in passages.iter().enumerate() {
        let step = circuit.step(&passage.step);
        if let Some(step) = step
            && step.clock == Clock::Stopped
        {
            if step.paid {
                clock.paid_on = Some(passage.from);
            }
            break;
        }
        let end = passages.get(i + 1).map_or(until, |next| next.from).min(until);
        let days = (end - passage.from).num_days().max(0);
        match step.map_or(Clock::Runs, |s| s.clock) {
            Clock::Suspended => clock.suspended += days,
            _ => {
                if let Some(total) = circuit.total_days.map(i64::from)
                    && clock.expired_on.is_none()
                    && clock.running + days >= total
                {
                    clock.expired_on = Some(passage.from + chrono::Duration::days(total - clock.running));
                }
                clock.running += days;
                match step.and_then(|s| s.part) {
                    Some(Part::Ordonnateur) => clock.ordonnateur += days,
                    Some(Part::Comptable) => clock.comptable += days,
                    None => {}
                }
            }
        }
    }
    clock
}

/// The ECB's main refinancing rate from a day on (the plan's
/// `late_payment_rates`), in basis points (4.50 % is 450).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LateRate {
    /// The first day it applies to (the first of January or of July).
    pub from: NaiveDate,
    /// The ECB rate, in basis points.
    pub ecb_bp: i64,
}

/// The first day of the half-year `day` falls in.
pub fn half_year_of(day: NaiveDate) -> NaiveDate {
    let month = if day.month() <= 6 { 1 } else { 7 };
    NaiveDate::from_ymd_opt(day.year(), month, 1).unwrap_or(day)
}

/// The ECB rate in force on the first day of the half-year `day` falls in
/// (the latest rate from that day or before), in basis points.
pub fn ecb_rate_for(rates: &[LateRate], day: NaiveDate) -> Option<i64> {
    let start = half_year_of(day);
    rates
        .iter()
        .filter(|r| r.from <= start)
        .max_by_key(|r| r.from)
        .map(|r| r.ecb_bp)
}

/// What a late payment owes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LateCharge {
    /// Days over the total delay.
    pub days: i64,
    /// The rate applied (ECB + 8 points), in basis points; `None` when the
    /// plan gives no ECB rate for the day.
    pub rate_bp: Option<i64>,
    /// Interest, in cents (rounded to the nearest cent, halves up).
    pub interest_cents: i64,
    /// The indemnity, in cents.
    pub indemnity_cents: i64,
}

/// What `amount_cents` paid `days` late owes, the interest starting the
/// day after `expired_on`.
pub fn late_charge(rates: &[LateRate], amount_cents: i64, days: i64, expired_on: NaiveDate) -> LateCharge {
    if days <= 0 {
        return LateCharge::default();
    }
    let rate_bp = ecb_rate_for(rates, expired_on + chrono::Duration::days(1)).map(|ecb| ecb + LATE_MARGIN_BP);
    let interest_cents = rate_bp.map_or(0, |rate| {
        let numerator = i128::from(amount_cents.max(0)) * i128::from(rate) * i128::from(days);
        let denominator: i128 = 365 * 10_000;
        i64::try_from((numerator + denominator / 2) / denominator).unwrap_or(i64::MAX)
    });
    LateCharge {
        days,
        rate_bp,
        interest_cents,
        indemnity_cents: LATE_INDEMNITY_CENTS,
    }
}

/// A decimal amount (`1200.5`, `-3`, `1 200,00`) in cents, truncated past
/// the cent; `None` if it is not one.
pub fn cents_of(text: &str) -> Option<i64> {
    let t: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{202f}')
        .collect();
    let (negative, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(&t)),
    };
    let (whole, fraction) = match body.split_once(['.', ',']) {
        Some((w, f)) => (w, f),
        None => (body, ""),
    };
    if whole.is_empty() || whole.len() > 15 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let mut cents_text: String = fraction.chars().take(2).collect();
    while cents_text.len() < 2 {
        cents_text.push('0');
    }
    let cents: i64 = cents_text.parse().ok()?;
    let value = whole.checked_mul(100)?.checked_add(cents)?;
    Some(if negative { -value } else { value })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
    }

    fn step(code: &str, clock: Clock, part: Option<Part>, moves: &[&str], paid: bool) -> Step {
        Step {
            code: code.into(),
            title: code.into(),
            roles: Vec::new(),
            service: None,
            days: None,
            clock,
            part,
            moves: moves.iter().map(|m| (*m).to_owned()).collect(),
            paid,
            when: Vec::new(),
        }
    }

    pub(crate) fn invoice_circuit() -> Circuit {
        use Clock::*;
        let mut circuit = Circuit {
            code: "facture".into(),
            title: "Facture".into(),
            nodes: vec![NodeCode::parse("FIN-FAC").expect("a code")],
            received: None,
            amount: Some("montant_ttc".into()),
            supplier: None,
            total_days: Some(30),
            late_payment: true,
            steps: vec![
                step(
                    "recue",
                    Runs,
                    Some(Part::Ordonnateur),
                    &["service_fait", "suspendue", "rejetee"],
                    false,
                ),
                step("suspendue", Suspended, None, &["recue", "service_fait"], false),
                step(
                    "service_fait",
                    Runs,
                    Some(Part::Ordonnateur),
                    &["mandatee", "suspendue"],
                    false,
                ),
                step("mandatee", Runs, Some(Part::Comptable), &["payee", "rejetee"], false),
                step("payee", Stopped, None, &[], true),
                step("rejetee", Stopped, None, &[], false),
            ],
        };
        circuit.steps[0].days = Some(10);
        circuit.steps[3].when = vec![Trigger::PesAccepted];
        circuit
    }

    fn passages(list: &[(&str, &str)]) -> Vec<Passage> {
        list.iter()
            .map(|(s, d)| Passage {
                step: (*s).into(),
                from: day(d),
            })
            .collect()
    }

    #[test]
    fn the_issue_s_invoice_is_paid_in_37_days_7_over() {
        let circuit = invoice_circuit();
        let history = passages(&[
            ("recue", "2024-03-01"),
            ("suspendue", "2024-03-10"),
            ("recue", "2024-03-15"),
            ("service_fait", "2024-03-20"),
            ("mandatee", "2024-04-01"),
            ("payee", "2024-04-12"),
        ]);
        let clock = payment_clock(&circuit, &history, day("2024-12-31"));
        assert_eq!(clock.running, 37);
        assert_eq!(clock.suspended, 5);
        assert_eq!(clock.ordonnateur, 26);
        assert_eq!(clock.comptable, 11);
        assert_eq!(clock.paid_on, Some(day("2024-04-12")));
        assert_eq!(clock.days_over(30), 7);
        // 9 days before the suspension, 21 more from the 15th: the 5th of April.
        assert_eq!(clock.expired_on, Some(day("2024-04-05")));
        let rates = [
            LateRate {
                from: day("2023-07-01"),
                ecb_bp: 400,
            },
            LateRate {
                from: day("2024-01-01"),
                ecb_bp: 450,
            },
            LateRate {
                from: day("2024-07-01"),
                ecb_bp: 425,
            },
        ];
        // 1 200,00 € × 12.5 % × 7 / 365 = 2.8767… → 2,88 €.
        let charge = late_charge(&rates, 120_000, 7, day("2024-04-05"));
        assert_eq!(charge.rate_bp, Some(1_250));
        assert_eq!(charge.interest_cents, 288);
        assert_eq!(charge.indemnity_cents, 4_000);
        // Interest starting in July takes July's rate.
        assert_eq!(late_charge(&rates, 120_000, 7, day("2024-06-30")).rate_bp, Some(1_225));
    }

    #[test]
    fn an_open_passage_is_read_up_to_the_day_asked() {
        let circuit = invoice_circuit();
        let history = passages(&[("recue", "2024-03-01"), ("service_fait", "2024-03-05")]);
        let clock = payment_clock(&circuit, &history, day("2024-03-12"));
        assert_eq!((clock.running, clock.paid_on, clock.expired_on), (11, None, None));
    }

    #[test]
    fn moves_are_checked_against_the_step() {
        let circuit = invoice_circuit();
        assert_eq!(
            circuit.check_move("recue", "service_fait").map(|s| s.code.as_str()),
            Ok("service_fait")
        );
        let refused = circuit.check_move("recue", "payee").expect_err("not from reçue");
        assert_eq!(refused.allowed, vec!["service_fait", "suspendue", "rejetee"]);
        assert!(
            circuit
                .check_move("payee", "recue")
                .expect_err("final")
                .allowed
                .is_empty()
        );
        assert!(circuit.problems("circuits[0]").is_empty());
    }

    #[test]
    fn a_flow_moves_a_record_only_where_its_step_allows() {
        let circuit = invoice_circuit();
        let to = |from| {
            circuit
                .automatic_move(from, Trigger::PesAccepted)
                .map(|s| s.code.as_str())
        };
        assert_eq!(to("service_fait"), Some("mandatee"));
        assert_eq!(to("recue"), None, "reçue does not lead to mandatée");
        assert_eq!(to("mandatee"), None, "already there");
        assert_eq!(circuit.automatic_move("service_fait", Trigger::PesRejected), None);
    }

    #[test]
    fn a_circuit_s_mistakes_are_found() {
        let mut circuit = invoice_circuit();
        circuit.steps[0].moves.push("nulle_part".into());
        circuit.steps[4].clock = Clock::Runs;
        let problems = circuit.problems("circuits[0]");
        assert!(
            problems.iter().any(|(p, _)| p == "circuits[0].steps[0].moves[3]"),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|(p, _)| p == "circuits[0].steps[4].clock"),
            "{problems:?}"
        );
    }

    #[test]
    fn who_acts_at_a_step() {
        let mut s = step("recue", Clock::Runs, None, &["x"], false);
        s.roles = vec![Role::Agent];
        assert!(s.acted_by(Role::Agent, Some("Voirie"), Some("Voirie")));
        assert!(!s.acted_by(Role::Agent, Some("Voirie"), Some("Culture")));
        assert!(s.acted_by(Role::Agent, None, Some("Culture")));
        assert!(!s.acted_by(Role::Auditor, None, None));
        s.service = Some("Finances".into());
        assert!(s.acted_by(Role::Agent, Some("Finances"), Some("Voirie")));
        assert!(!s.acted_by(Role::Agent, Some("Voirie"), Some("Voirie")));
    }

    #[test]
    fn amounts_in_cents() {
        assert_eq!(cents_of("1200.00"), Some(120_000));
        assert_eq!(cents_of("1 200,5"), Some(120_050));
        assert_eq!(cents_of("-3"), Some(-300));
        assert_eq!(cents_of("12.345"), Some(1_234));
        assert_eq!(cents_of("douze"), None);
        assert_eq!(cents_of(""), None);
    }

    proptest! {
        #[test]
        fn the_clock_s_days_add_up(steps in proptest::collection::vec((0usize..6, 0i64..40), 1..12)) {
            let circuit = invoice_circuit();
            let mut from = day("2024-01-01");
            let mut history = Vec::new();
            for (s, gap) in steps {
                history.push(Passage { step: circuit.steps[s].code.clone(), from });
                from += chrono::Duration::days(gap);
            }
            let until = from;
            let clock = payment_clock(&circuit, &history, until);
            let end = clock.paid_on.or_else(|| {
                history.iter().find(|p| circuit.step(&p.step).is_some_and(|s| s.clock == Clock::Stopped)).map(|p| p.from)
            }).unwrap_or(until);
            prop_assert_eq!(clock.running + clock.suspended, (end - day("2024-01-01")).num_days());
            prop_assert_eq!(clock.ordonnateur + clock.comptable, clock.running);
            prop_assert_eq!(clock.expired_on.is_some(), clock.running >= 30);
        }
    }
}
