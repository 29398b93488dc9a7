//! How the pages say things in French: dates `15/03/2024`, amounts
//! `1 200,00 €`, sizes `1,2 Mo`, roles, and a record's retention in a
//! sentence ("à détruire le 15/03/2034, règle FACTURES héritée de
//! FIN-FAC"). Also reads the dates and amounts people type in those forms.
//!
//! The pages and the command line's messages use it: the API speaks ISO
//! dates and decimal points.

use crate::domain::plan::{FieldType, FinalAction, RetentionDuration, RetentionStart};
use crate::domain::retention::{Retention, RetentionStatus};
use crate::domain::role::Role;
use chrono::{DateTime, NaiveDate, Utc};

/// A narrow no-break space, which French typography puts between
/// thousands and before `€`, `:`, `;`, `?` and `!`.
const THIN_NBSP: char = '\u{202f}';

/// `1 document`, `2 documents`, `0 document`, `1 200 documents`: a count
/// and its noun, in French (where 0 and 1 take the singular, and thousands
/// are grouped).
pub fn count(n: impl Counted, one: &str, many: &str) -> String {
    let n = n.number();
    format!("{} {}", group_thousands(&n.to_string()), if n > 1 { many } else { one })
}

/// A number of things, as the pages hold it (by value or, in templates,
/// by reference).
pub trait Counted {
    /// The number.
    fn number(&self) -> u64;
}

impl Counted for u64 {
    fn number(&self) -> u64 {
        *self
    }
}

impl Counted for usize {
    fn number(&self) -> u64 {
        *self as u64
    }
}

impl<T: Counted + ?Sized> Counted for &T {
    fn number(&self) -> u64 {
        (**self).number()
    }
}

/// Text as people search it: lower case, accents and ligatures away
/// (`Délibérations` and `deliberations` meet; `œuvre` finds `oeuvre`).
pub fn folded(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect::<String>()
        .replace('œ', "oe")
        .replace('æ', "ae")
}

/// A day typed in a form: none when left blank, a sentence saying how to
/// write it when it cannot be read.
pub fn typed_day(text: &str) -> Result<Option<NaiveDate>, String> {
    match text.trim() {
        "" => Ok(None),
        t => parse_date(t)
            .map(Some)
            .ok_or_else(|| format!("« {t} » n'est pas une date : écrivez-la JJ/MM/AAAA.")),
    }
}

/// `15/03/2024`.
pub fn date(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// Names joined as a French list: `a`, `a et b`, `a, b et c`.
pub fn and_list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [head @ .., last] => format!("{} et {last}", head.join(", ")),
    }
}

/// The first `chars` characters of a text a person typed, to quote it in
/// a message: cut with `…` when longer.
pub fn excerpt(text: &str, chars: usize) -> String {
    let mut cut: String = text.chars().take(chars).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

/// A phrase with its first letter in capitals.
pub fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// How a record stands to another, as a reader is told it: from the
/// record that made the link (`pièce jointe de`), or from the other
/// (`pièces jointes`).
pub fn link(kind: crate::domain::record::LinkKind, from_the_other: bool) -> &'static str {
    use crate::domain::record::LinkKind;
    match (kind, from_the_other) {
        (LinkKind::AttachmentOf, false) => "pièce jointe de",
        (LinkKind::AttachmentOf, true) => "a pour pièce jointe",
        (LinkKind::PartOf, false) => "fait partie de",
        (LinkKind::PartOf, true) => "comprend",
        (LinkKind::Supports, false) => "justificatif de",
        (LinkKind::Supports, true) => "a pour justificatif",
        (LinkKind::Acknowledges, false) => "accusé de réception de",
        (LinkKind::Acknowledges, true) => "a pour accusé de réception",
    }
}

/// A capture channel as a reader is told it: `dossier:accueil` → `reçu par
/// le dossier surveillé « accueil »`.
pub fn channel(name: &str) -> String {
    match name.split_once(':') {
        Some(("dossier", folder)) => format!("reçu par le dossier surveillé « {folder} »"),
        Some(("messagerie", mailbox)) => format!("reçu par la boîte aux lettres « {mailbox} »"),
        _ => format!("reçu par « {name} »"),
    }
}

/// A part of an accounting flow, with its article: `le bordereau de mandats`.
pub fn flow_part(kind: crate::domain::pes::PartKind) -> &'static str {
    use crate::domain::pes::PartKind;
    match kind {
        PartKind::Flow => "le flux",
        PartKind::ExpenseSlip => "le bordereau de mandats",
        PartKind::RevenueSlip => "le bordereau de titres",
        PartKind::Mandate => "le mandat",
        PartKind::Title => "le titre",
        PartKind::Voucher => "la pièce justificative",
        PartKind::Acknowledgement => "l'acquittement",
    }
}

/// Where a record's date came from, said to a reader.
pub fn dating(dated: &crate::domain::record::Dating) -> String {
    use crate::domain::record::Dating;
    match dated {
        Dating::Invoice => "Lue dans la facture électronique.".into(),
        Dating::Text { excerpt } => format!("Lue dans le texte : « {excerpt} »."),
        Dating::DepositDay => "Jour du dépôt : aucune date n'a été donnée ni lue dans le document ; à vérifier.".into(),
    }
}

/// `15/03/2024 à 14:05` (UTC shown as Paris time is a later concern: the
/// server says which zone it writes).
pub fn time(t: DateTime<Utc>) -> String {
    t.format("%d/%m/%Y à %H:%M UTC").to_string()
}

/// Reads a date typed as `15/03/2024` (or `15-03-2024`, `15.03.2024`) or
/// as ISO `2024-03-15`.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%d/%m/%Y"))
        .or_else(|_| NaiveDate::parse_from_str(text, "%d-%m-%Y"))
        .or_else(|_| NaiveDate::parse_from_str(text, "%d.%m.%Y"))
        .ok()
        .filter(|d| crate::domain::record::YEARS.contains(&chrono::Datelike::year(d)))
}

/// Groups the digits of `whole` by three with narrow no-break spaces.
pub fn group_thousands(whole: &str) -> String {
    let digits: Vec<char> = whole.chars().collect();
    let mut out = String::new();
    for (i, c) in digits.iter().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(THIN_NBSP);
        }
        out.push(*c);
    }
    out
}

/// An amount in cents as `1 200,00 €`.
pub fn amount(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!(
        "{sign}{},{:02}{THIN_NBSP}€",
        group_thousands(&(abs / 100).to_string()),
        abs % 100
    )
}

/// Reads an amount typed as `1 200,50`, `1200.50`, `1 200,50 €` or
/// `1.200,50` into cents. More than two decimals is refused rather than
/// rounded: an amount is copied from a document, not computed.
pub fn parse_amount(text: &str) -> Option<i64> {
    let cleaned: String = text
        .trim()
        .trim_end_matches('€')
        .trim_end()
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
        .collect();
    let (negative, body) = match cleaned.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, cleaned.as_str()),
    };
    // The decimal separator is the last `,` or `.`, if two digits or
    // fewer follow it; a `.` followed by three digits groups thousands.
    let split = body.rfind([',', '.']).filter(|&i| body.len() - i - 1 <= 2);
    let (whole, fraction) = match split {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (body, ""),
    };
    // Thousands groups after the first have three digits each.
    let groups: Vec<&str> = whole.split(['.', ',']).collect();
    if groups.len() > 1 && (groups[0].is_empty() || groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3)) {
        return None;
    }
    let whole: String = groups.concat();
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    if !whole.chars().all(|c| c.is_ascii_digit()) || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let units: i64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let cents: i64 = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().ok()? * 10,
        _ => fraction.parse().ok()?,
    };
    let total = units.checked_mul(100)?.checked_add(cents)?;
    Some(if negative { -total } else { total })
}

/// A field's value as people read it, by its type in the plan: dates
/// `15/03/2024`, amounts (decimal fields named `montant…`) `1 200,00 €`,
/// other numbers with a decimal comma and grouped thousands.
pub fn field_value(kind: Option<&FieldType>, name: &str, value: &str) -> String {
    match kind {
        Some(FieldType::Date) => NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
            .map(date)
            .unwrap_or_else(|_| value.to_owned()),
        Some(FieldType::Decimal) if name.starts_with("montant") => {
            parse_amount(value).map(amount).unwrap_or_else(|| value.to_owned())
        }
        Some(FieldType::Decimal | FieldType::Integer) => {
            let (sign, digits) = match value.trim().strip_prefix('-') {
                Some(rest) => ("-", rest),
                None => ("", value.trim()),
            };
            let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
            if whole.is_empty() || !whole.chars().all(|c| c.is_ascii_digit()) {
                return value.to_owned();
            }
            let grouped = group_thousands(whole);
            if fraction.is_empty() {
                format!("{sign}{grouped}")
            } else {
                format!("{sign}{grouped},{fraction}")
            }
        }
        _ => value.to_owned(),
    }
}

/// A number to a tenth, with a decimal comma: `31,5`.
pub fn tenths(value: f64) -> String {
    format!("{value:.1}").replace('.', ",")
}

/// An amount in cents as a decimal field holds it: `1200.50`.
pub fn decimal_text(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// A value typed in a form for a field of type `kind`, as the field holds
/// it (`15/03/2024` → `2024-03-15`, `1 200,50` → `1200.50`), or why it
/// does not fit, in French.
pub fn typed_value(kind: &FieldType, value: &str) -> Result<String, String> {
    match kind {
        FieldType::Text => Ok(value.to_owned()),
        FieldType::Date => parse_date(value)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .ok_or_else(|| format!("« {value} » n'est pas une date : écrivez-la sous la forme 15/03/2024")),
        FieldType::Decimal => parse_amount(value)
            .map(decimal_text)
            .ok_or_else(|| format!("« {value} » n'est pas un nombre : écrivez-le comme 1 200,50")),
        FieldType::Integer => {
            let digits: String = value.chars().filter(|c| !c.is_whitespace()).collect();
            digits
                .parse::<i64>()
                .map(|n| n.to_string())
                .map_err(|_| format!("« {value} » n'est pas un nombre entier"))
        }
        FieldType::Enum(values) => values
            .iter()
            .find(|v| v.as_str() == value)
            .cloned()
            .ok_or_else(|| format!("choisissez l'une des valeurs : {}", values.join(", "))),
    }
}

/// The days left at a circuit's step: « reste 3 jours », « à traiter
/// aujourd'hui », « en retard de 5 jours », « sans délai pour cette étape ».
pub fn days_left(left: Option<i64>) -> String {
    match left {
        Some(left) if left < 0 => format!("en retard de {}", count(left.unsigned_abs(), "jour", "jours")),
        Some(0) => "à traiter aujourd'hui".to_owned(),
        Some(left) => format!("reste {}", count(left.unsigned_abs(), "jour", "jours")),
        None => "sans délai pour cette étape".to_owned(),
    }
}

/// A field's name as a label: `numero_facture` → `Numero facture`.
pub fn field_label(name: &str) -> String {
    capitalised(&field_words(name))
}

/// A field's name as words in a sentence: `numero_facture` → `numéro
/// facture`, `montant_ttc` → `montant TTC` (plan files name fields in plain
/// ASCII; the usual words get their accents and acronyms their capitals).
pub fn field_words(name: &str) -> String {
    name.split(['_', '-'])
        .filter(|w| !w.is_empty())
        .map(|word| match word {
            "numero" => "numéro",
            "reception" => "réception",
            "echeance" => "échéance",
            "emission" => "émission",
            "deliberation" => "délibération",
            "seance" => "séance",
            "categorie" => "catégorie",
            "reference" => "référence",
            "beneficiaire" => "bénéficiaire",
            "prenom" => "prénom",
            "periode" => "période",
            "entite" => "entité",
            "piece" => "pièce",
            "pieces" => "pièces",
            "collectivite" => "collectivité",
            "designation" => "désignation",
            "libelle" => "libellé",
            "etat" => "état",
            "noeud" => "nœud",
            "cree" => "créé",
            "creation" => "création",
            "modifie" => "modifié",
            "employe" => "employé",
            "ht" => "HT",
            "ttc" => "TTC",
            "tva" => "TVA",
            "siret" => "SIRET",
            "siren" => "SIREN",
            "iban" => "IBAN",
            "bic" => "BIC",
            "pes" => "PES",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A size in bytes as `1,2 Mo`.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["Ko", "Mo", "Go", "To"];
    if bytes < 1024 {
        return format!("{bytes}{THIN_NBSP}octets");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{:.1}{THIN_NBSP}{}", value, UNITS[unit]).replace('.', ",")
}

/// The moves a step allows, said in a sentence: « les mouvements permis
/// sont : Service fait (service_fait), Suspendue (suspendue) », or that
/// there are none.
pub fn allowed_moves(allowed: &[(String, String)]) -> String {
    match allowed {
        [] => "cette étape termine le circuit : aucun mouvement n'en part".to_owned(),
        [(code, title)] => format!("le seul mouvement permis est : {title} ({code})"),
        many => format!(
            "les mouvements permis sont : {}",
            many.iter()
                .map(|(code, title)| format!("{title} ({code})"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A role's name for people.
pub fn role(r: Role) -> &'static str {
    match r {
        Role::Admin => "administrateur",
        Role::Archivist => "archiviste",
        Role::Auditor => "auditeur",
        Role::Agent => "agent",
        Role::Visa => "autorité d'archives",
    }
}

/// Who acted, for people: the journal's `claire (archivist)` shown as
/// `claire (archiviste)`; any other actor (`system`, `cli:…`, `token:…`)
/// as the journal names it.
pub fn actor(name: &str) -> String {
    let role = name
        .strip_suffix(')')
        .and_then(|rest| rest.rsplit_once(" ("))
        .and_then(|(user, role)| Role::parse(role).map(|r| (user, r)));
    match role {
        // The visa role's long name holds brackets of its own.
        Some((user, Role::Visa)) => format!("{user} (autorité d'archives)"),
        Some((user, r)) => format!("{user} ({})", self::role(r)),
        None => name.to_owned(),
    }
}

/// `10 ans`, `6 mois`, `1 an et 6 mois`, `conservation définitive`.
pub fn duration(d: &RetentionDuration) -> String {
    match d {
        RetentionDuration::Permanent => "conservation définitive".into(),
        RetentionDuration::Period { years, months, days } => {
            let mut parts = Vec::new();
            if *years > 0 {
                parts.push(format!("{years} an{}", if *years > 1 { "s" } else { "" }));
            }
            if *months > 0 {
                parts.push(format!("{months} mois"));
            }
            if *days > 0 {
                parts.push(format!("{days} jour{}", if *days > 1 { "s" } else { "" }));
            }
            if parts.is_empty() {
                return "aucune durée".into();
            }
            let last = parts.pop().unwrap_or_default();
            if parts.is_empty() {
                last
            } else {
                format!("{} et {last}", parts.join(", "))
            }
        }
    }
}

/// `à compter de la date du document`.
pub fn start(s: &RetentionStart) -> String {
    match s {
        RetentionStart::Date => "à compter de la date du document".into(),
        RetentionStart::Closing => "à compter de la clôture du dossier".into(),
        RetentionStart::Field(name) => format!("à compter du champ « {name} »"),
        RetentionStart::Event(name) => format!("à compter de l'événement « {name} »"),
    }
}

/// `destruction`, `versement aux archives`, `tri`.
pub fn final_action(a: FinalAction) -> &'static str {
    match a {
        FinalAction::Destroy => "destruction",
        FinalAction::Keep => "versement aux archives",
        FinalAction::Review => "tri par l'archiviste",
    }
}

/// The rule in a sentence: `10 ans à compter de la date du document, puis
/// destruction`.
pub fn rule(retention: &Retention) -> String {
    if retention.duration == RetentionDuration::Permanent {
        return "conservation définitive".into();
    }
    format!(
        "{} {}, puis {}",
        duration(&retention.duration),
        start(&retention.start),
        final_action(retention.final_action)
    )
}

/// Where the record stands, in a sentence: `à détruire le 15/03/2034,
/// règle FACTURES héritée de FIN-FAC`.
pub fn standing(retention: &Retention, status: RetentionStatus, own_node: &str) -> String {
    let what = match retention.final_action {
        FinalAction::Destroy => "à détruire",
        FinalAction::Keep => "à verser aux archives",
        FinalAction::Review => "à trier",
    };
    let when = match (status, retention.due) {
        (RetentionStatus::Permanent, _) => "conservé définitivement".to_owned(),
        (RetentionStatus::Open, _) => format!("{what} une fois connue la date de départ ({})", start(&retention.start)),
        (RetentionStatus::Due, Some(due)) => format!("{what} depuis le {}", date(due)),
        (_, Some(due)) => format!("{what} le {}", date(due)),
        (_, None) => what.to_owned(),
    };
    let from = if retention.inherited_from.as_str() == own_node {
        format!("règle {} du nœud {}", retention.rule, retention.inherited_from)
    } else {
        format!("règle {} héritée de {}", retention.rule, retention.inherited_from)
    };
    format!("{when}, {from}")
}

/// An ISO date (`2024-03-15`) as `15/03/2024`; anything else as given.
pub fn iso_date(text: &str) -> String {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_or_else(|_| text.to_owned(), date)
}

/// An RFC 3339 time (`2024-03-15T14:05:00Z`) as `15/03/2024 à 14:05 UTC`;
/// anything else as given.
pub fn iso_time(text: &str) -> String {
    DateTime::parse_from_rfc3339(text).map_or_else(|_| text.to_owned(), |t| time(t.with_timezone(&Utc)))
}

/// A disposal's state (`proposed`, `approved`, `executing`, `executed`,
/// `abandoned`, and `incomplete` for a proposal still being written), for
/// people.
pub fn disposal_state(code: &str) -> &str {
    match code {
        "proposed" => "proposée",
        "incomplete" => "en cours d'écriture",
        "approved" => "visée",
        "executing" => "en cours d'exécution",
        "executed" => "exécutée",
        "abandoned" => "abandonnée",
        other => other,
    }
}

/// A transfer's state (`proposed`, `exported`, `acknowledged`), for people.
pub fn transfer_state(code: &str) -> &str {
    match code {
        "proposed" => "proposé",
        "exported" => "exporté",
        "acknowledged" => "accepté par les archives",
        "abandoned" => "abandonné",
        other => other,
    }
}

/// A record's state (`active`, `destroyed`, `transferred`), for people.
pub fn record_state(code: &str) -> &str {
    match code {
        "active" => "conservé",
        "destroyed" => "éliminé",
        "transferred" => "versé aux archives",
        other => other,
    }
}

/// A token's state (`active`, `expired`, `revoked`), in French.
pub fn token_state(state: &str) -> &str {
    match state {
        "active" => "actif",
        "expired" => "expiré",
        "revoked" => "révoqué",
        other => other,
    }
}

/// What an indicator's figure (or table) measures, by its name in the
/// API's answers, for people (a CSV's column).
pub fn measure(name: &str) -> String {
    match name {
        "deposited" => "documents déposés",
        "classified" => "classés par une règle",
        "classification_rate" => "taux de classement automatique (%)",
        "classified_share" => "part classée par une règle (%)",
        "months" => "mois",
        "records" => "documents",
        "bytes" => "octets",
        "channels" => "canaux de capture par jour",
        "fields" => "champs lus",
        "suppliers" => "champs lus par fournisseur",
        "read_surely" => "lus sûrement",
        "doubtful" => "lus avec doute",
        "missing" => "non trouvés",
        "checked" => "vérifiés",
        "corrected" => "corrigés",
        "corrected_share" => "part corrigée (%)",
        "flows" => "flux PES",
        "flows_by_month" => "flux PES par mois",
        "sent" => "envoyés",
        "accepted" => "acceptés",
        "rejected" => "rejetés",
        "waiting" => "en attente d'acquittement",
        "rejections" => "motifs de rejet",
        "failures" => "échecs",
        "extraction" => "échecs d'extraction du texte",
        "signatures_invalid" => "signatures invalides",
        "signatures_unchecked" => "signatures non vérifiables",
        "eliminated" => "éliminés",
        "transferred" => "versés",
        "holds_placed" => "gels posés",
        "holds_lifted" => "gels levés",
        "fixity_runs" => "contrôles d'intégrité",
        "blobs_checked" => "contenus recontrôlés",
        "damage_found" => "contenus endommagés trouvés",
        "damage_repaired" => "contenus réparés",
        "last_fixity_run" => "dernier contrôle d'intégrité",
        "findings" => "anomalies",
        "unchecked_since" => "contenus déposés depuis",
        "fixity_coverage" => "couverture du contrôle d'intégrité (%)",
        "open_damage" => "contenus endommagés non réparés",
        "now" => "à ce jour",
        "overdue" => "échus",
        "held_due" => "échus mais gelés",
        "due_by_month" => "échéances par mois",
        "copies" => "copies",
        "lag_events" => "retard (événements)",
        "follower_lag_events" => "retard du suivi (événements)",
        "total" => "ensemble",
        "by_node" => "par nœud",
        "by_service" => "par service",
        "by_type" => "par type",
        "by_year" => "par année",
        "blockages" => "en attente par étape",
        "count" => "documents en attente",
        "ages" => "jours à l'étape",
        "mean_days" => "attente moyenne (jours)",
        "oldest_days" => "attente la plus longue (jours)",
        other => other,
    }
    .to_owned()
}

/// A journal event kind, for people.
pub fn event_kind(kind: &str) -> String {
    match kind {
        "record.ingested" => "Dépôt".into(),
        "version.added" => "Nouvelle version".into(),
        "record.updated" => "Description ou classement modifié".into(),
        "record.read" => "Champs lus dans le texte".into(),
        "record.verified" => "Description vérifiée".into(),
        "record.rendered" => "Version recherchable (PDF/A) produite".into(),
        "record.moved" => "Avancé dans son circuit".into(),
        "flow.acknowledged" => "Flux PES acquitté par le comptable".into(),
        "retention.reviewed" => "Décision de tri".into(),
        "retention.event_recorded" => "Événement de départ enregistré".into(),
        "hold.placed" => "Gel posé".into(),
        "hold.lifted" => "Gel levé".into(),
        "disposal.proposed" => "Proposé à l'élimination".into(),
        "disposal.approved" => "Élimination visée".into(),
        "disposal.lines" => "Proposé à l'élimination".into(),
        "disposal.abandoned" => "Proposition d'élimination abandonnée".into(),
        "disposal.destroyed" | "disposal.executed" => "Éliminé".into(),
        "disposal.erased" | "transfer.erased" => "Contenu effacé".into(),
        "transfer.proposed" | "transfer.lines" => "Proposé au versement".into(),
        "transfer.abandoned" => "Proposition de versement abandonnée".into(),
        "package.exported" => "Exporté".into(),
        "transfer.acknowledged" => "Versement accepté".into(),
        "plan.published" => "Plan de classement publié".into(),
        "record.consulted" => "Consulté (données personnelles)".into(),
        "access.refused" => "Accès refusé ou connexion échouée".into(),
        "token.created" => "Jeton délivré".into(),
        "token.revoked" => "Jeton révoqué".into(),
        "blob.damaged" => "Contenu trouvé endommagé".into(),
        "blob.repaired" => "Contenu réparé".into(),
        "copy.repaired" => "Copie d'un contenu rétablie".into(),
        "archive.restored" => "Archive restaurée depuis une copie".into(),
        "catalog.rebuilt" => "Catalogue endommagé reconstruit depuis le journal".into(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn channels_links_and_quotes_are_said_in_french() {
        assert_eq!(channel("dossier:accueil"), "reçu par le dossier surveillé « accueil »");
        assert_eq!(
            channel("messagerie:courrier"),
            "reçu par la boîte aux lettres « courrier »"
        );
        assert_eq!(channel("autre"), "reçu par « autre »");
        use crate::domain::record::LinkKind;
        assert_eq!(capitalised(link(LinkKind::AttachmentOf, false)), "Pièce jointe de");
        assert_eq!(capitalised(link(LinkKind::AttachmentOf, true)), "A pour pièce jointe");
        assert_eq!(excerpt("épée", 2), "ép…");
        assert_eq!(excerpt("épée", 4), "épée");
        assert_eq!(field_label("numero_facture"), "Numéro facture");
    }

    #[test]
    fn actors_are_named_with_their_role_in_french() {
        assert_eq!(actor("claire (archivist)"), "claire (archiviste)");
        assert_eq!(actor("admin (admin)"), "admin (administrateur)");
        assert_eq!(actor("vanessa (visa)"), "vanessa (autorité d'archives)");
        assert_eq!(actor("system"), "system");
        assert_eq!(actor("cli:root"), "cli:root");
        assert_eq!(actor("x (inconnu)"), "x (inconnu)");
    }

    use super::*;

    #[test]
    fn counts_take_the_singular_below_two_and_group_thousands() {
        assert_eq!(count(0u64, "document", "documents"), "0 document");
        assert_eq!(count(1usize, "défaut trouvé", "défauts trouvés"), "1 défaut trouvé");
        let lines = 2usize;
        let by_reference = &lines;
        assert_eq!(count(by_reference, "ligne", "lignes"), "2 lignes");
        assert_eq!(count(1_200u64, "document", "documents"), "1\u{202f}200 documents");
    }
    use proptest::prelude::*;

    #[test]
    fn folded_text_meets_whatever_accents_and_case_were_typed() {
        assert_eq!(folded("Délibérations du Conseil"), "deliberations du conseil");
        assert_eq!(folded("ŒUVRE"), "oeuvre");
        assert!(folded("Marchés publics").contains(&folded("MARCHES")));
    }

    #[test]
    fn iso_dates_and_states_are_said_in_french() {
        assert_eq!(iso_date("2024-03-15"), "15/03/2024");
        assert_eq!(typed_day("  "), Ok(None));
        assert_eq!(typed_day("15/03/2024"), Ok(NaiveDate::from_ymd_opt(2024, 3, 15)));
        assert!(typed_day("32/13/2024").is_err_and(|e| e.contains("n'est pas une date")));
        assert_eq!(iso_date("bientôt"), "bientôt");
        assert_eq!(iso_time("2024-03-15T14:05:09.123456Z"), "15/03/2024 à 14:05 UTC");
        assert_eq!(iso_time("hier"), "hier");
        assert_eq!(disposal_state("approved"), "visée");
        assert_eq!(transfer_state("acknowledged"), "accepté par les archives");
        assert_eq!(record_state("destroyed"), "éliminé");
        assert_eq!(record_state("unknown"), "unknown");
    }

    #[test]
    fn dates_and_amounts_read_as_the_french_write_them() {
        let d = NaiveDate::from_ymd_opt(2024, 3, 15).unwrap_or_default();
        assert_eq!(date(d), "15/03/2024");
        for typed in ["15/03/2024", "2024-03-15", " 15-03-2024 ", "15.03.2024"] {
            assert_eq!(parse_date(typed), Some(d), "{typed}");
        }
        assert_eq!(parse_date("31/02/2024"), None);
        assert_eq!(amount(120_000), "1\u{202f}200,00\u{202f}€");
        assert_eq!(amount(-5), "-0,05\u{202f}€");
        assert_eq!(amount(123_456_789), "1\u{202f}234\u{202f}567,89\u{202f}€");
        for (typed, cents) in [
            ("1 200,50", 120_050),
            ("1200.50", 120_050),
            ("1 200,50 €", 120_050),
            ("1.200,50", 120_050),
            ("1.200", 120_000),
            ("12,5", 1_250),
            ("0,07", 7),
            ("-3", -300),
        ] {
            assert_eq!(parse_amount(typed), Some(cents), "{typed}");
        }
        for bad in ["", "douze", "1,234,5x", "1,2345", "€"] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
    }

    #[test]
    fn fields_read_by_their_type() {
        assert_eq!(
            field_value(Some(&FieldType::Date), "echeance", "2024-03-15"),
            "15/03/2024"
        );
        assert_eq!(
            field_value(Some(&FieldType::Decimal), "montant_ttc", "1200.5"),
            "1\u{202f}200,50\u{202f}€"
        );
        assert_eq!(
            field_value(Some(&FieldType::Decimal), "surface", "1234.75"),
            "1\u{202f}234,75"
        );
        assert_eq!(
            field_value(Some(&FieldType::Integer), "pages", "12000"),
            "12\u{202f}000"
        );
        assert_eq!(field_value(Some(&FieldType::Decimal), "x", "n/a"), "n/a");
        assert_eq!(field_value(None, "fournisseur", "Dupain"), "Dupain");
        assert_eq!(field_label("numero_facture"), "Numéro facture");
    }

    #[test]
    fn sizes_and_durations_read_naturally() {
        assert_eq!(size(999), "999\u{202f}octets");
        assert_eq!(size(1_258_291), "1,2\u{202f}Mo");
        let period = |years, months, days| RetentionDuration::Period { years, months, days };
        assert_eq!(duration(&period(10, 0, 0)), "10 ans");
        assert_eq!(duration(&period(1, 6, 0)), "1 an et 6 mois");
        assert_eq!(duration(&period(0, 0, 1)), "1 jour");
    }

    proptest! {
        #[test]
        fn any_amount_shown_reads_back(cents in -1_000_000_000_000i64..1_000_000_000_000) {
            prop_assert_eq!(parse_amount(&amount(cents)), Some(cents));
        }

        #[test]
        fn any_date_shown_reads_back(days in 0i32..200_000) {
            let d = NaiveDate::from_num_days_from_ce_opt(days).unwrap_or_default();
            prop_assert_eq!(parse_date(&date(d)), Some(d));
        }

        #[test]
        fn reading_an_amount_never_panics(text in "\\PC{0,30}") {
            let _ = parse_amount(&text);
        }
    }
}
