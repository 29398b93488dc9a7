//! Who keeps these archives: the collectivité (its name, SIREN and SIRET),
//! its producing services, its archives service (with the identifier SEDA
//! packages name it by) and the archives authority that gives the visas.
//! Every paper names them, and packages carry their identifiers.

use super::record::InvalidInput;
use serde::{Deserialize, Serialize};

/// A service that produces records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProducingService {
    /// Its code (what deposits name in `service`).
    pub code: String,
    /// Its name.
    pub name: String,
}

/// The archives service that receives transfers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchivesService {
    /// Its name.
    pub name: String,
    /// Its identifier in SEDA packages (`FRAD033` for the Archives
    /// départementales de la Gironde).
    pub identifier: String,
    /// The authority that gives visas for eliminations (a person's
    /// title, or the service).
    #[serde(default)]
    pub authority: String,
    /// Whether only the archives authority's people (the `visa` role) give
    /// the visa of an elimination, and never the person who proposed it.
    /// Off, an archivist may give it too, as the interface allows.
    #[serde(default)]
    pub visa_reserved: bool,
}

/// The collectivité whose archives these are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// Its name.
    pub name: String,
    /// Its SIREN (9 digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub siren: Option<String>,
    /// Its SIRET (14 digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub siret: Option<String>,
    /// Its producing services.
    #[serde(default)]
    pub services: Vec<ProducingService>,
    /// Its archives service.
    #[serde(default)]
    pub archives: ArchivesService,
    /// Its logo, at the head of its papers (its bytes are a blob).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<super::logo::Logo>,
}

/// The longest name or identifier, in characters.
const TEXT_MAX: usize = 300;

/// Whether digits pass the Luhn check (SIREN and SIRET numbers do).
pub fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .chars()
        .rev()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A SIREN or SIRET as written (spaces allowed), checked: `len` digits
/// passing the Luhn check.
fn registry_number(field: &str, text: &str, len: usize) -> Result<String, InvalidInput> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != len || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(InvalidInput::new(field, format!("« {text} » n'a pas {len} chiffres")));
    }
    if !luhn(&digits) {
        return Err(InvalidInput::new(
            field,
            format!("« {text} » n'est pas un numéro valide (sa clé de contrôle ne correspond pas)"),
        ));
    }
    Ok(digits)
}

fn text(field: &str, value: &str, required: bool) -> Result<String, InvalidInput> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(InvalidInput::new(field, "à renseigner"));
    }
    if value.chars().count() > TEXT_MAX || value.chars().any(super::record::unreadable) {
        return Err(InvalidInput::new(
            field,
            format!("{TEXT_MAX} caractères au plus, sans caractère de contrôle"),
        ));
    }
    Ok(value.to_owned())
}

impl Identity {
    /// The identity checked and tidied: a name, SIREN and SIRET that pass
    /// their key (the SIRET starting with the SIREN when both are given),
    /// service codes given once, an archives identifier without spaces.
    pub fn checked(self) -> Result<Identity, InvalidInput> {
        let name = text("name", &self.name, true)?;
        let siren = self
            .siren
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| registry_number("siren", s, 9))
            .transpose()?;
        let siret = self
            .siret
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| registry_number("siret", s, 14))
            .transpose()?;
        if let (Some(siren), Some(siret)) = (&siren, &siret)
            && !siret.starts_with(siren.as_str())
        {
            return Err(InvalidInput::new(
                "siret",
                "le SIRET commence par le SIREN de la collectivité",
            ));
        }
        let mut services: Vec<ProducingService> = Vec::with_capacity(self.services.len());
        for (i, s) in self.services.into_iter().enumerate() {
            let code = text(&format!("services[{i}].code"), &s.code, true)?;
            if services.iter().any(|o| o.code == code) {
                return Err(InvalidInput::new(
                    format!("services[{i}].code"),
                    format!("le service « {code} » est nommé deux fois"),
                ));
            }
            let name = text(&format!("services[{i}].name"), &s.name, true)?;
            services.push(ProducingService { code, name });
        }
        let identifier = text("archives.identifier", &self.archives.identifier, false)?;
        if identifier.contains(char::is_whitespace) {
            return Err(InvalidInput::new(
                "archives.identifier",
                "un identifiant s'écrit sans espace",
            ));
        }
        Ok(Identity {
            name,
            siren,
            siret,
            services,
            archives: ArchivesService {
                name: text("archives.name", &self.archives.name, false)?,
                identifier,
                authority: text("archives.authority", &self.archives.authority, false)?,
                visa_reserved: self.archives.visa_reserved,
            },
            logo: self.logo,
        })
    }

    /// A service's name by its code (the code itself when unknown).
    pub fn service_name<'a>(&'a self, code: &'a str) -> &'a str {
        self.services
            .iter()
            .find(|s| s.code == code)
            .map_or(code, |s| s.name.as_str())
    }

    /// How the collectivité identifies itself to an archives service: its
    /// SIRET, else its SIREN, else its name.
    pub fn agency_identifier(&self) -> &str {
        self.siret
            .as_deref()
            .or(self.siren.as_deref())
            .unwrap_or(self.name.as_str())
    }

    /// The name with its SIREN, for the head of a paper.
    pub fn heading(&self) -> String {
        match &self.siren {
            Some(siren) => format!("{} (SIREN {})", self.name, siren),
            None => self.name.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn gironde() -> Identity {
        Identity {
            name: " Département de la Gironde ".into(),
            siren: Some("223 300 013".into()),
            siret: Some("22330001300016".into()),
            services: vec![ProducingService {
                code: "FIN".into(),
                name: "Direction des finances".into(),
            }],
            archives: ArchivesService {
                name: "Archives départementales de la Gironde".into(),
                identifier: "FRAD033".into(),
                authority: "Directrice des Archives départementales".into(),
                visa_reserved: true,
            },
            logo: None,
        }
    }

    #[test]
    fn an_identity_is_tidied_and_its_numbers_checked() {
        let checked = gironde().checked().expect("valid");
        assert_eq!(checked.name, "Département de la Gironde");
        assert_eq!(checked.siren.as_deref(), Some("223300013"));
        assert_eq!(checked.agency_identifier(), "22330001300016");
        assert_eq!(checked.service_name("FIN"), "Direction des finances");
        assert_eq!(checked.service_name("RH"), "RH");
        assert_eq!(checked.heading(), "Département de la Gironde (SIREN 223300013)");
        let wrong_key = Identity {
            siren: Some("223300014".into()),
            siret: None,
            ..gironde()
        };
        assert_eq!(wrong_key.checked().map_err(|e| e.field), Err("siren".to_owned()));
        let other_siret = Identity {
            siret: Some("21330063500017".into()),
            ..gironde()
        };
        assert_eq!(other_siret.checked().map_err(|e| e.field), Err("siret".to_owned()));
        let twice = Identity {
            services: [gironde().services, gironde().services].concat(),
            ..gironde()
        };
        assert!(twice.checked().is_err());
        assert!(Identity::default().checked().is_err(), "a name is needed");
    }

    proptest! {
        /// Any number with a wrong check digit is refused: changing one
        /// digit of a valid SIREN always breaks its key.
        #[test]
        fn one_changed_digit_breaks_the_key(position in 0usize..9, by in 1u32..10) {
            let valid = "223300013";
            let mut digits: Vec<u32> = valid.chars().filter_map(|c| c.to_digit(10)).collect();
            digits[position] = (digits[position] + by) % 10;
            let changed: String = digits.iter().map(|d| char::from_digit(*d, 10).unwrap_or('0')).collect();
            prop_assert!(!luhn(&changed), "{changed}");
        }
    }
}
