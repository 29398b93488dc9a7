//! The repair pass (`coffre repair`, `POST /repair`): puts back what can
//! be put back and lists what cannot.
//!
//! It looks at every blob in use (records' versions and metadata
//! documents, plan versions) and every blob known damaged. A blob in use
//! that the first store lacks is journaled damaged (found by the repair);
//! a copy store that lacks a blob is given it (a copy folder added to an
//! archive that holds records already, a file removed from a copy); every
//! blob known damaged is then put back from a copy whose bytes still hash
//! to its name. Each repair is a journal event naming the blob, the copy
//! and the records. The pass stats files and reads only what it repairs:
//! re-hashing everything is the work of the fixity job and of `audit
//! verify`, whose findings it then repairs.

use super::{Actor, Archive, ArchiveError};
use crate::domain::event::EventBody;
use crate::domain::integrity::{CompletedCopy, DamageFinder, DamageKind, RepairReport, RepairedBlob, UnrepairedBlob};
use crate::domain::role::Permission;

impl Archive {
    /// Repairs everything it can from the copies and says what it could
    /// not repair.
    #[tracing::instrument(skip_all, fields(actor = %actor.name))]
    pub fn repair(&self, actor: &Actor) -> Result<RepairReport, ArchiveError> {
        actor.require(Permission::Repair, "réparer les contenus")?;
        let mut report = RepairReport {
            copies: self.blobs.copy_names(),
            ..RepairReport::default()
        };
        let _one_pass = self.mirrors.1.lock().unwrap_or_else(|p| p.into_inner());
        // Damaged blobs met on the walk, counted there already.
        let mut damaged_in_use = std::collections::BTreeSet::new();
        self.blobs_in_use()?.walk(self, None, |blob| {
            report.blobs_examined += 1;
            if self.catalog.damage(&blob.sha)?.is_some() {
                damaged_in_use.insert(blob.sha);
                return Ok(true);
            }
            if !self.blobs.contains(&blob.sha)? {
                if !self.used_by(&blob)?.is_empty() {
                    self.journal_damage(&blob.sha, DamageKind::Missing, DamageFinder::Repair, actor)?;
                }
                return Ok(true);
            }
            for copy in self.complete_copies_of(&blob.sha, actor)? {
                report.copies_completed.push(CompletedCopy { blob: blob.sha, copy });
            }
            Ok(true)
        })?;
        for damage in self.catalog.damages()? {
            if !damaged_in_use.contains(&damage.blob) {
                report.blobs_examined += 1;
            }
            match self.try_repair_from_copy(&damage.blob, actor)? {
                Some((source, used_by)) => report.repaired.push(RepairedBlob {
                    blob: damage.blob,
                    source,
                    used_by,
                }),
                None => report.unrepaired.push(UnrepairedBlob {
                    blob: damage.blob,
                    problem: damage.kind,
                    used_by: self.references_using(&damage.blob),
                    reason: if report.copies.is_empty() {
                        "aucun stockage de copies n'est configuré : déposez à nouveau le fichier d'origine, \
                         ou restaurez-le d'une sauvegarde"
                            .into()
                    } else {
                        "aucune copie ne garde des octets intacts : déposez à nouveau le fichier d'origine, \
                         ou restaurez-le d'une sauvegarde"
                            .into()
                    },
                }),
            }
        }
        tracing::info!(
            examined = report.blobs_examined,
            repaired = report.repaired.len(),
            completed = report.copies_completed.len(),
            unrepaired = report.unrepaired.len(),
            "repair pass finished"
        );
        Ok(report)
    }

    /// Gives `blob` to each copy store that lacks it, checked as it is
    /// written, and journals each (`copy.repaired`, missing); says which.
    pub(super) fn complete_copies_of(
        &self,
        blob: &crate::domain::hash::Sha256,
        actor: &Actor,
    ) -> Result<Vec<String>, ArchiveError> {
        let completed = self.blobs.complete_copies(blob)?;
        for copy in &completed {
            tracing::warn!(%blob, %copy, "a copy store lacked a content and was given it");
            self.journal.append(actor.draft(EventBody::CopyRepaired {
                blob: *blob,
                copy: copy.clone(),
                problem: DamageKind::Missing,
            }))?;
        }
        Ok(completed)
    }
}
