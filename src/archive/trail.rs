//! The trail of who read what (`record.consulted`, for nodes the plan marks
//! as holding personal data) and of refusals (`access.refused`: failed
//! sign-ins, 403s), both throttled by `domain::trail::Throttle`; and its
//! listing for auditors, by record or by person.

use super::{Actor, Archive, ArchiveError};
use crate::domain::event::EventBody;
use crate::domain::record::Record;
use crate::domain::role::Permission;
use crate::domain::trail::{Consultation, Reading, Verdict};
use crate::store::ConsultationsOf;

/// What was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A sign-in with a wrong name or password.
    SignIn,
    /// A role that may not do what it asked (403).
    Forbidden,
}

/// The longest text kept of what a refused request asked.
const REQUEST_MAX: usize = 200;

impl Archive {
    /// Journals that `actor` read `record` (its detail, or a version's
    /// content), from `from`, if its node holds personal data; call it
    /// before anything of the record is served. A trail that cannot be
    /// written is logged, never a reason to refuse the reading, except on a
    /// read-only replica, which can never write it: there such a record is
    /// refused (`ReadingNotTraced`), and read on the primary.
    pub fn note_reading(
        &self,
        actor: &Actor,
        record: &Record,
        reading: Reading,
        version: Option<u32>,
        from: &str,
    ) -> Result<(), ArchiveError> {
        let personal = match self.plan_in_force() {
            Ok(plan) => plan.plan.holds_personal_data(&record.node),
            Err(e) => {
                tracing::warn!(error = %e, "no plan to tell whether a reading is to be journaled");
                return Ok(());
            }
        };
        if !personal {
            return Ok(());
        }
        if let Some(following) = &self.following {
            return Err(ArchiveError::ReadingNotTraced {
                reference: record.reference.to_string(),
                primary: following.primary().map(str::to_owned),
            });
        }
        let now = self.clock.now();
        let fresh = self
            .trail
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .reading(&actor.name, record.id, reading, now);
        if !fresh {
            return Ok(());
        }
        let appended = self.journal.append(actor.draft(EventBody::RecordConsulted {
            record: record.id,
            reference: record.reference.clone(),
            reading,
            version,
            from: (!from.is_empty()).then(|| from.to_owned()),
        }));
        if let Err(e) = appended {
            tracing::error!(error = %e, reference = %record.reference, actor = %actor.name, "the reading of a record holding personal data could not be journaled");
        }
        Ok(())
    }

    /// Journals a refusal (throttled): a failed sign-in for the name typed,
    /// or a refused request of `actor`, from `from`.
    pub fn note_refusal(&self, refusal: Refusal, user: Option<&str>, request: Option<&str>, from: &str) {
        let key = match (refusal, user) {
            (Refusal::SignIn, _) => format!("sign_in:{from}"),
            (Refusal::Forbidden, Some(user)) => format!("forbidden:{user}"),
            (Refusal::Forbidden, None) => format!("forbidden:{from}"),
        };
        let verdict = self
            .trail
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .refusal(&key, self.clock.now());
        let Verdict::Journal { held_back } = verdict else {
            return;
        };
        let clip = |text: &str| -> String {
            text.chars()
                .filter(|c| !crate::domain::record::unreadable(*c))
                .take(REQUEST_MAX)
                .collect()
        };
        let body = EventBody::AccessRefused {
            refusal: match refusal {
                Refusal::SignIn => "sign_in",
                Refusal::Forbidden => "forbidden",
            }
            .to_owned(),
            user: user.map(clip).filter(|u| !u.is_empty()),
            request: request.map(clip),
            from: (!from.is_empty()).then(|| from.to_owned()),
            held_back,
        };
        if let Err(e) = self.journal.append(Actor::system().draft(body)) {
            tracing::error!(error = %e, "a refusal could not be journaled");
        }
    }

    /// The readings of a record (by reference, alias or id, destroyed ones
    /// too), or by a person (user name) or actor, oldest first: at most
    /// `limit`, after the seq `after`; auditors only.
    pub fn consultations(
        &self,
        actor: &Actor,
        record: Option<&str>,
        person: Option<&str>,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Consultation>, ArchiveError> {
        actor.require(Permission::Audit, "lire les consultations")?;
        let of = match (record, person) {
            (Some(key), None) => ConsultationsOf::Record(self.record(actor, key)?.id),
            (None, Some(who)) => ConsultationsOf::Who(
                crate::domain::account::UserName::parse(who).map_or_else(|_| who.trim().to_owned(), String::from),
            ),
            _ => {
                return Err(crate::domain::record::InvalidInput::new(
                    "record",
                    "nommez un document (record) ou une personne (person), l'un des deux",
                )
                .into());
            }
        };
        Ok(self.catalog.consultations(&of, after, limit)?)
    }
}
