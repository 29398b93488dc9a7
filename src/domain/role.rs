//! Who may do what: the five roles and the permissions each one grants.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The role a person's account or an API token carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Runs the system: everything.
    Admin,
    /// Defines the plan and rules, runs disposal and transfers.
    Archivist,
    /// Verifies integrity and reads the trail; reads records to check them.
    Auditor,
    /// Deposits, searches and reads records.
    Agent,
    /// The archives authority (or its delegate): gives the visa that an
    /// elimination needs, and reads what it is asked to approve.
    Visa,
}

/// One thing a caller may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read records and their content.
    ReadRecords,
    /// Deposit records and versions.
    Deposit,
    /// Change metadata, classification, holds, disposals.
    ManageRecords,
    /// Read the journal and run integrity checks.
    Audit,
    /// Issue API tokens.
    ManageTokens,
    /// Open, change and disable people's accounts.
    ManageAccounts,
    /// Read proposed eliminations and give or refuse their visa.
    GiveVisa,
    /// Change the key that signs the journal's seals.
    ManageKeys,
    /// Put damaged content back from its copies and complete the copy
    /// stores (`coffre repair`).
    Repair,
    /// Confirm or correct the description of records waiting in the
    /// verification queue, in the nodes they may deposit in.
    VerifyRecords,
}

impl Role {
    /// Every role, for listings and parsing.
    pub const ALL: [Role; 5] = [Role::Admin, Role::Archivist, Role::Auditor, Role::Agent, Role::Visa];

    /// The role's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Archivist => "archivist",
            Role::Auditor => "auditor",
            Role::Agent => "agent",
            Role::Visa => "visa",
        }
    }

    /// Parses a role name.
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text.trim())
    }

    /// Whether this role grants `permission`.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            // An archivist gives visas too, unless the collectivité reserves
            // them to its archives authority (`Identity::visa_reserved`).
            Role::Archivist => matches!(
                permission,
                ReadRecords | Deposit | ManageRecords | GiveVisa | VerifyRecords
            ),
            Role::Auditor => matches!(permission, ReadRecords | Audit),
            Role::Agent => matches!(permission, ReadRecords | Deposit | VerifyRecords),
            Role::Visa => matches!(permission, ReadRecords | GiveVisa),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_grant_what_the_interface_says() {
        assert!(Role::Agent.allows(Permission::Deposit));
        assert!(Role::Agent.allows(Permission::VerifyRecords));
        assert!(!Role::Auditor.allows(Permission::VerifyRecords));
        assert!(!Role::Agent.allows(Permission::ManageTokens));
        assert!(!Role::Agent.allows(Permission::Audit));
        assert!(Role::Auditor.allows(Permission::Audit));
        assert!(!Role::Auditor.allows(Permission::Deposit));
        assert!(Role::Admin.allows(Permission::ManageTokens));
        assert!(Role::Admin.allows(Permission::ManageAccounts));
        assert!(!Role::Archivist.allows(Permission::ManageAccounts));
        assert!(Role::Visa.allows(Permission::GiveVisa));
        assert!(!Role::Visa.allows(Permission::ManageRecords));
        assert!(!Role::Visa.allows(Permission::Deposit));
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
