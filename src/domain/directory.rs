//! People who sign in with their directory account (LDAP, Active
//! Directory): what the directory says of a person, and the grants that
//! turn its groups into a role and a producing service.
//!
//! The grants are the operator's, in the directory file: the first grant
//! whose group the person is in decides (list the most powerful first). A
//! person in no granted group has no access, whatever their password.

use super::account::UserName;
use super::role::Role;

/// What the directory says of a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryPerson {
    /// The name they sign in with (coffre's account name).
    pub user: UserName,
    /// Their entry's distinguished name.
    pub dn: String,
    /// The name shown to people (their `displayName` or `cn`).
    pub display_name: Option<String>,
    /// The distinguished names of the groups they are in.
    pub groups: Vec<String>,
}

/// A directory group and what being in it gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupGrant {
    /// The group's distinguished name.
    pub group: String,
    /// The role it gives.
    pub role: Role,
    /// The producing service its members deposit for, by default.
    pub service: Option<String>,
}

/// What a person may do, as the directory's groups say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// Their role.
    pub role: Role,
    /// Their producing service, if their grant names one.
    pub service: Option<String>,
    /// The group that gave it.
    pub group: String,
}

/// The standing the first grant whose group `person` is in gives; `None`
/// when no grant names any of their groups.
pub fn standing(grants: &[GroupGrant], person: &DirectoryPerson) -> Option<Standing> {
    grants.iter().find_map(|grant| {
        person
            .groups
            .iter()
            .any(|g| same_dn(g, &grant.group))
            .then(|| Standing {
                role: grant.role,
                service: grant.service.clone(),
                group: grant.group.clone(),
            })
    })
}

/// Whether two distinguished names name the same entry, as directories
/// compare them for the usual attributes: without regard to case or to
/// spaces around `,`, `=` and `+` (`CN=Archives, OU=Groupes` is
/// `cn=archives,ou=groupes`).
pub fn same_dn(a: &str, b: &str) -> bool {
    normal_dn(a) == normal_dn(b)
}

fn normal_dn(dn: &str) -> String {
    let lower = dn.trim().to_lowercase();
    let mut out = String::with_capacity(lower.len());
    let mut chars = lower.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.push(c);
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else if matches!(c, ',' | '=' | '+') {
            while out.ends_with(' ') {
                out.pop();
            }
            out.push(c);
            while chars.peek() == Some(&' ') {
                chars.next();
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Escapes a value for an LDAP search filter (RFC 4515 §3): `*`, `(`,
/// `)`, `\` and NUL become `\2a`, `\28`, `\29`, `\5c` and `\00`, so that a
/// typed user name cannot change the filter.
pub fn filter_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '*' => out.push_str("\\2a"),
            '(' => out.push_str("\\28"),
            ')' => out.push_str("\\29"),
            '\\' => out.push_str("\\5c"),
            '\0' => out.push_str("\\00"),
            c => out.push(c),
        }
    }
    out
}

/// A filter of the directory file with its `{user}` and `{dn}` filled in,
/// each escaped.
pub fn fill_filter(template: &str, user: &str, dn: Option<&str>) -> String {
    let filled = template.replace("{user}", &filter_value(user));
    match dn {
        Some(dn) => filled.replace("{dn}", &filter_value(dn)),
        None => filled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn person(groups: &[&str]) -> DirectoryPerson {
        DirectoryPerson {
            user: UserName::parse("marie.dupont").expect("user"),
            dn: "uid=marie.dupont,ou=people,dc=cd00,dc=fr".into(),
            display_name: Some("Marie Dupont".into()),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        }
    }

    fn grants() -> Vec<GroupGrant> {
        vec![
            GroupGrant {
                group: "cn=coffre-admins,ou=groups,dc=cd00,dc=fr".into(),
                role: Role::Admin,
                service: None,
            },
            GroupGrant {
                group: "cn=coffre-finances,ou=groups,dc=cd00,dc=fr".into(),
                role: Role::Agent,
                service: Some("Direction des finances".into()),
            },
        ]
    }

    #[test]
    fn the_first_grant_met_decides() {
        let both = person(&[
            "CN=coffre-finances, OU=groups, DC=cd00, DC=fr",
            "cn=coffre-admins,ou=groups,dc=cd00,dc=fr",
        ]);
        let s = standing(&grants(), &both).expect("granted");
        assert_eq!((s.role, s.service), (Role::Admin, None));
        let agent = person(&["CN=Coffre-Finances,OU=Groups,DC=cd00,DC=fr"]);
        let s = standing(&grants(), &agent).expect("granted");
        assert_eq!(s.role, Role::Agent);
        assert_eq!(s.service.as_deref(), Some("Direction des finances"));
        assert_eq!(
            standing(&grants(), &person(&["cn=cantine,ou=groups,dc=cd00,dc=fr"])),
            None
        );
        assert_eq!(standing(&grants(), &person(&[])), None);
    }

    #[test]
    fn names_compare_without_case_or_spaces_but_escapes_hold() {
        assert!(same_dn("CN=A B, OU=x", "cn=a b,ou=x"));
        assert!(!same_dn("cn=a\\,b,ou=x", "cn=a,b,ou=x"));
        assert!(!same_dn("cn=ab,ou=x", "cn=a b,ou=x"));
    }

    #[test]
    fn typed_names_cannot_change_a_filter() {
        assert_eq!(
            fill_filter("(&(objectClass=person)(uid={user}))", "*)(uid=*", None),
            "(&(objectClass=person)(uid=\\2a\\29\\28uid=\\2a))"
        );
        assert_eq!(
            fill_filter("(member={dn})", "x", Some("cn=a\\,b")),
            "(member=cn=a\\5c,b)"
        );
    }

    proptest! {
        #[test]
        fn a_filled_value_never_holds_filter_syntax(value in any::<String>()) {
            let escaped = filter_value(&value);
            prop_assert!(!escaped.contains(['*', '(', ')', '\0']));
            // Every backslash starts one of the escapes written.
            let mut rest = escaped.as_str();
            while let Some(i) = rest.find('\\') {
                let code = rest.get(i + 1..i + 3).unwrap_or_default();
                prop_assert!(["2a", "28", "29", "5c", "00"].contains(&code), "{escaped}");
                rest = &rest[i + 3..];
            }
        }
    }
}
