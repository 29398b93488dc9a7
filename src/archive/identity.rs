//! The collectivité's identity: set by an admin (journaled whole, so that
//! what a paper named at its time stays known), read by everyone. Its logo
//! is a blob the identity names, given and taken away on its own.

use super::{Actor, Archive, ArchiveError};
use crate::domain::event::EventBody;
use crate::domain::identity::Identity;
use crate::domain::logo::{LOGO_MAX_BYTES, Logo};
use crate::domain::role::Permission;
use std::io::Read;

impl Archive {
    /// The collectivité's identity, once an admin has set it.
    pub fn identity(&self) -> Result<Option<Identity>, ArchiveError> {
        Ok(self.catalog.identity()?)
    }

    /// Sets the collectivité's identity (checked whole), keeping its logo
    /// whatever `identity` says of it (the logo changes through
    /// [`Archive::set_logo`]); unchanged, nothing is journaled.
    #[tracing::instrument(skip_all, fields(actor = %actor.name))]
    pub fn set_identity(&self, actor: &Actor, identity: Identity) -> Result<Identity, ArchiveError> {
        actor.require(Permission::ManageAccounts, "définir l'identité de la collectivité")?;
        let current = self.catalog.identity()?;
        let identity = Identity {
            logo: current.as_ref().and_then(|c| c.logo.clone()),
            ..identity
        }
        .checked()?;
        self.journal_identity(actor, current, identity)
    }

    /// Journals `identity` unless it is the one in force.
    fn journal_identity(
        &self,
        actor: &Actor,
        current: Option<Identity>,
        identity: Identity,
    ) -> Result<Identity, ArchiveError> {
        if current.as_ref() == Some(&identity) {
            return Ok(identity);
        }
        self.journal.append(actor.draft(EventBody::IdentitySet {
            identity: identity.clone(),
        }))?;
        Ok(identity)
    }

    /// Gives the collectivité a logo (a PNG or JPEG image, checked whole),
    /// or takes it away (`None`): the image is kept as a blob and the
    /// identity, naming it, journaled again. The identity must be set first.
    #[tracing::instrument(skip_all, fields(actor = %actor.name))]
    pub fn set_logo(&self, actor: &Actor, image: Option<&[u8]>) -> Result<Identity, ArchiveError> {
        actor.require(Permission::ManageAccounts, "changer le logo de la collectivité")?;
        let current = self.catalog.identity()?.ok_or(ArchiveError::IdentityNotSet)?;
        let logo = match image {
            None => None,
            Some(bytes) => {
                // Checked first, then hashed once, by the store.
                let image = crate::domain::logo::examine(bytes)?;
                let kept = self.blobs.stage(&mut &bytes[..], LOGO_MAX_BYTES as u64)?.commit()?;
                Some(image.named(kept))
            }
        };
        let identity = Identity {
            logo,
            ..current.clone()
        };
        self.journal_identity(actor, Some(current), identity)
    }

    /// The logo in force and its bytes, if the collectivité has one.
    pub fn logo(&self) -> Result<Option<(Logo, Vec<u8>)>, ArchiveError> {
        let Some(logo) = self.catalog.identity()?.and_then(|i| i.logo) else {
            return Ok(None);
        };
        let (reader, _) = self.blobs.open(&logo.sha256)?;
        let mut bytes = Vec::new();
        reader
            .take(LOGO_MAX_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| ArchiveError::Internal(format!("le logo ne peut être lu : {e}")))?;
        Ok(Some((logo, bytes)))
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

    #[test]
    fn a_logo_is_given_kept_through_identity_changes_and_taken_away() {
        let (_dir, archive) = memory_archive();
        let png = crate::domain::logo::tests::png(60, 30);
        assert!(matches!(
            archive.set_logo(&Actor::system(), Some(&png)),
            Err(crate::archive::ArchiveError::IdentityNotSet)
        ));
        let commune = Identity {
            name: "Commune de Saint-Exemple".into(),
            ..Identity::default()
        };
        archive.set_identity(&Actor::system(), commune.clone()).expect("set");
        let with_logo = archive.set_logo(&Actor::system(), Some(&png)).expect("logo");
        let logo = with_logo.logo.clone().expect("named");
        assert_eq!(
            (logo.media_type.as_str(), logo.width, logo.height),
            ("image/png", 60, 30)
        );
        let (named, bytes) = archive.logo().expect("read").expect("a logo");
        assert_eq!((named, bytes), (logo.clone(), png.clone()));
        let renamed = Identity {
            name: "Commune nouvelle de Saint-Exemple".into(),
            ..commune
        };
        let renamed = archive.set_identity(&Actor::system(), renamed).expect("renamed");
        assert_eq!(renamed.logo, Some(logo), "an identity set without its logo keeps it");
        assert!(archive.set_logo(&Actor::system(), Some(b"GIF89a")).is_err());
        let agent = Actor {
            name: "token:agent".into(),
            role: crate::domain::role::Role::Agent,
            account: None,
        };
        assert!(archive.set_logo(&agent, None).is_err(), "an agent may not");
        let without = archive.set_logo(&Actor::system(), None).expect("taken away");
        assert_eq!(without.logo, None);
        assert_eq!(archive.logo().expect("read"), None);
    }
}
