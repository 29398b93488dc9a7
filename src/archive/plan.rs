//! The classification plan in force: publishing a new version (checked,
//! with its impact shown and orphaned records refused), and reading any
//! version back. Every version is a blob (the file as the archivists wrote
//! it) named by a `plan.published` event.

use super::{Actor, Archive, ArchiveError};
use crate::domain::event::EventBody;
use crate::domain::hash::Sha256;
use crate::domain::plan::Plan;
use crate::domain::plan_change::{ImpactCount, PlanImpact, keeps_retention};
use crate::domain::role::Permission;
use crate::policies::{PlanFileProblem, load_plan};
use crate::store::{BlobStore, Catalog, PlanVersionEntry, ViewError};
use std::io::Read;
use std::sync::Arc;

/// The largest plan file read back from the blob store.
const PLAN_TEXT_MAX: u64 = 16 * 1024 * 1024;

/// A published plan version: the archive's entry, the file and the plan.
#[derive(Debug, Clone)]
pub struct PublishedPlan {
    /// Number, digest, publisher.
    pub entry: PlanVersionEntry,
    /// The file as published.
    pub text: String,
    /// The plan it describes.
    pub plan: Plan,
}

/// What a publication did (or, for a dry run, would do).
#[derive(Debug, Clone)]
pub struct Publication {
    /// The new version; `None` for a dry run or an unchanged plan.
    pub published: Option<PlanVersionEntry>,
    /// The file is the plan in force already: nothing was published.
    pub unchanged: bool,
    /// What changes against the plan in force.
    pub impact: PlanImpact,
}

/// How a plan file is published.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Publish {
    /// Report what would change; publish nothing.
    pub dry_run: bool,
    /// The archivist's reason, confirming a plan that makes records due
    /// earlier or destroyable (refused without it).
    pub confirmation: Option<String>,
}

/// A plan file that does not pass its checks, every problem listed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the plan has {} problem(s): {}", .0.len(), .0.first().map(ToString::to_string).unwrap_or_default())]
pub struct InvalidPlan(pub Vec<PlanFileProblem>);

/// Reads a published plan version back from the blob store.
pub(super) fn read_version(blobs: &dyn BlobStore, entry: &PlanVersionEntry) -> Result<PublishedPlan, ViewError> {
    let (reader, _) = blobs.open(&entry.text)?;
    let mut text = String::new();
    let unreadable = |reason: String| ViewError::Document {
        what: "plan version",
        sha256: entry.text,
        reason,
    };
    reader
        .take(PLAN_TEXT_MAX)
        .read_to_string(&mut text)
        .map_err(|e| unreadable(format!("version {}: {e}", entry.number)))?;
    let plan = load_plan(&text).map_err(|problems| {
        unreadable(format!(
            "version {} no longer passes its checks: {}",
            entry.number,
            problems.first().map(ToString::to_string).unwrap_or_default()
        ))
    })?;
    Ok(PublishedPlan {
        entry: entry.clone(),
        text,
        plan,
    })
}

/// The plan in force: the latest published version.
pub(super) fn current(catalog: &dyn Catalog, blobs: &dyn BlobStore) -> Result<Option<PublishedPlan>, ArchiveError> {
    match catalog.plan_versions()?.last() {
        Some(entry) => Ok(Some(read_version(blobs, entry)?)),
        None => Ok(None),
    }
}

/// Checks a plan file.
pub fn check_plan(text: &str) -> Result<Plan, ArchiveError> {
    load_plan(text).map_err(|problems| ArchiveError::InvalidPlan(InvalidPlan(problems)))
}

impl Archive {
    /// The plan in force (every archive has one from `init`).
    pub(super) fn plan_in_force(&self) -> Result<Arc<PublishedPlan>, ArchiveError> {
        self.plan
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| ArchiveError::Internal("no classification plan has been published".into()))
    }

    /// A plan version (the one in force when `number` is `None`).
    pub fn plan(&self, actor: &Actor, number: Option<u32>) -> Result<Arc<PublishedPlan>, ArchiveError> {
        actor.require(Permission::ReadRecords, "lire le plan de classement")?;
        let current = self.plan_in_force()?;
        match number {
            None => Ok(current),
            Some(n) if n == current.entry.number => Ok(current),
            Some(n) => {
                let entry = self
                    .catalog
                    .plan_versions()?
                    .into_iter()
                    .find(|e| e.number == n)
                    .ok_or(ArchiveError::PlanVersionNotFound(n))?;
                Ok(Arc::new(read_version(self.blobs.as_ref(), &entry)?))
            }
        }
    }

    /// Every published plan version, oldest first.
    pub fn plan_versions(&self, actor: &Actor) -> Result<Vec<PlanVersionEntry>, ArchiveError> {
        actor.require(Permission::ReadRecords, "lire le plan de classement")?;
        Ok(self.catalog.plan_versions()?)
    }

    /// Checks a plan file, works out what it would change, and (unless
    /// `dry_run`) publishes it as the plan in force. Refused when records
    /// would be left in a node the plan no longer has and no node replaces,
    /// and, unless `confirmed` with a reason, when it would make records due
    /// earlier or destroy what was to be kept.
    #[tracing::instrument(skip_all, fields(actor = %actor.name))]
    pub fn publish_plan(&self, actor: &Actor, text: &str, how: &Publish) -> Result<Publication, ArchiveError> {
        let (dry_run, confirmed) = (how.dry_run, how.confirmation.as_deref());
        actor.require(Permission::ManageRecords, "publier le plan de classement")?;
        let plan = check_plan(text)?;
        let mut slot = self.plan.write().unwrap_or_else(|p| p.into_inner());
        let current = slot.clone();
        if current.as_ref().is_some_and(|c| c.text == text) {
            return Ok(Publication {
                published: None,
                unchanged: true,
                impact: PlanImpact::default(),
            });
        }
        // The records of a node that keeps its retention cannot change:
        // they are counted; the others are looked at one at a time, in the
        // node index (which holds what their retention depends on).
        let mut count = ImpactCount::new(current.as_ref().map(|c| &c.plan), &plan);
        let today = self.clock.now().date_naive();
        let held = self.catalog.records_by_node()?;
        for (node, records) in &held {
            if keeps_retention(current.as_ref().map(|c| &c.plan), &plan, node) {
                count.add_unchanged(node, *records);
                continue;
            }
            for (_, entry) in self.catalog.retention_in(node)? {
                count.add_named(entry.reference.as_str(), today, entry.facts(node));
            }
        }
        let impact = count.finish();
        if !impact.orphaned.is_empty() {
            return Err(ArchiveError::PlanOrphansRecords(
                impact.orphaned.iter().map(|(c, n)| (c.to_string(), *n)).collect(),
            ));
        }
        let reason = confirmed.map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned);
        if !dry_run && (impact.shortened > 0 || impact.to_destroy > 0) && reason.is_none() {
            return Err(ArchiveError::PlanShortensRetention {
                shortened: impact.shortened,
                to_destroy: impact.to_destroy,
            });
        }
        if dry_run {
            return Ok(Publication {
                published: None,
                unchanged: false,
                impact,
            });
        }
        let digest: Sha256 = self.blobs.stage(&mut text.as_bytes(), u64::MAX)?.commit()?;
        let number = current.as_ref().map_or(0, |c| c.entry.number) + 1;
        let moves = plan
            .replacements()
            .into_iter()
            .filter(|(old, _)| held.contains_key(old))
            .collect();
        self.journal.append(actor.draft(EventBody::PlanPublished {
            number,
            plan_id: plan.header.id.clone(),
            label: plan.header.version.clone(),
            text: digest,
            moves,
            reason,
        }))?;
        let entry = self
            .catalog
            .plan_versions()?
            .into_iter()
            .find(|e| e.number == number)
            .ok_or_else(|| ArchiveError::Internal(format!("plan version {number} journaled but not in the catalog")))?;
        tracing::info!(number, plan = %plan.header.id, label = %plan.header.version, "plan published");
        *slot = Some(Arc::new(PublishedPlan {
            entry: entry.clone(),
            text: text.to_owned(),
            plan,
        }));
        Ok(Publication {
            published: Some(entry),
            unchanged: false,
            impact,
        })
    }
}
