//! The collectivité's identity: set by an admin (journaled whole, so that
//! what a paper named at its time stays known), read by everyone.

use super::{Actor, Archive, ArchiveError};
use crate::domain::event::EventBody;
use crate::domain::identity::Identity;
use crate::domain::role::Permission;

impl Archive {
    /// The collectivité's identity, once an admin has set it.
    pub fn identity(&self) -> Result<Option<Identity>, ArchiveError> {
        Ok(self.catalog.identity()?)
    }

    /// Sets the collectivité's identity (checked whole); unchanged, nothing
    /// is journaled.
    #[tracing::instrument(skip_all, fields(actor = %actor.name))]
    pub fn set_identity(&self, actor: &Actor, identity: Identity) -> Result<Identity, ArchiveError> {
        actor.require(Permission::ManageAccounts, "définir l'identité de la collectivité")?;
        let identity = identity.checked()?;
        if self.catalog.identity()?.as_ref() == Some(&identity) {
            return Ok(identity);
        }
        self.journal.append(actor.draft(EventBody::IdentitySet {
            identity: identity.clone(),
        }))?;
        Ok(identity)
    }
}

#[cfg(test)]
mod tests {
    use crate::archive::Actor;
    use crate::archive::tests_support::memory_archive;
    use crate::domain::identity::Identity;

    #[test]
    fn an_admin_sets_the_identity_once_for_each_change() {
        let (_dir, archive) = memory_archive();
        assert_eq!(archive.identity().expect("identity"), None);
        let commune = Identity {
            name: "Commune de Saint-Exemple".into(),
            siren: Some("213300635".into()),
            ..Identity::default()
        };
        let set = archive.set_identity(&Actor::system(), commune.clone()).expect("set");
        assert_eq!(archive.identity().expect("identity"), Some(set.clone()));
        let head = archive.journal_head();
        archive.set_identity(&Actor::system(), commune).expect("again");
        assert_eq!(archive.journal_head(), head, "unchanged: nothing journaled");
        let bad = Identity {
            name: "X".into(),
            siren: Some("123".into()),
            ..Identity::default()
        };
        assert!(archive.set_identity(&Actor::system(), bad).is_err());
    }
}
