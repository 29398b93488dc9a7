//! JSON shapes shared by the HTTP API and the command line's `--json`
//! output, one file per resource as in `http/`. They are kept apart from
//! the domain types so that either can change without breaking the other.
//!
//! Objects whose members were once built as untyped JSON keep their
//! members in alphabetical order, the order scripts have always seen.
//!
//! Invariant: `wire` names no `store` type: what it shapes comes from the
//! domain or from `archive`.

mod accounts;
mod audit;
mod circuits;
mod disposals;
mod exports;
mod flows;
mod identity;
mod indicators;
mod plan;
mod records;
mod retention;
mod search;
mod tokens;
mod verification;

pub use accounts::*;
pub use audit::*;
pub use circuits::*;
pub use disposals::*;
pub use exports::*;
pub use flows::*;
pub use identity::*;
pub use indicators::*;
pub use plan::*;
pub use records::*;
pub use retention::*;
pub use search::*;
pub use tokens::*;
pub use verification::*;

/// Every error answer: `{"error": {"code", "message", "details"?}}`, the
/// code one of the error table's (`src/errors.rs`); some carry a member
/// beside it (a destroyed record's `tombstone`).
#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorDto {
    /// What went wrong.
    pub error: ErrorBodyDto,
}

/// The error itself.
#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorBodyDto {
    /// The stable code (`record_not_found`, `invalid_field`, …).
    pub code: String,
    /// For people, in French or English.
    pub message: String,
    /// What a program needs to act on it (the field at fault, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// A whole number as JSON Schema's `integer` has it: `30`, or `30.0`.
fn whole_u64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    use serde::Deserialize;
    use serde::de::Error;
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Number {
        Exact(u64),
        Written(f64),
    }
    match Number::deserialize(d)? {
        Number::Exact(n) => Ok(n),
        // Up to 2^53 a float holds every whole number exactly.
        Number::Written(x) if x.fract() == 0.0 && (0.0..=9_007_199_254_740_992.0).contains(&x) => Ok(x as u64),
        Number::Written(x) => Err(D::Error::custom(format!("{x} is not a whole number of 0 or more"))),
    }
}

/// [`whole_u64`], within `u32`.
pub(crate) fn whole<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    use serde::de::Error;
    let n = whole_u64(d)?;
    u32::try_from(n).map_err(|_| D::Error::custom(format!("{n} is over {}", u32::MAX)))
}

/// [`whole`], or `null`.
pub(crate) fn whole_or_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    #[derive(serde::Deserialize)]
    struct Whole(#[serde(deserialize_with = "whole")] u32);
    use serde::Deserialize;
    Ok(Option::<Whole>::deserialize(d)?.map(|w| w.0))
}

/// [`whole_u64`], or `null`.
pub(crate) fn whole_u64_or_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(serde::Deserialize)]
    struct Whole(#[serde(deserialize_with = "whole_u64")] u64);
    use serde::Deserialize;
    Ok(Option::<Whole>::deserialize(d)?.map(|w| w.0))
}

#[cfg(test)]
mod whole_tests {
    #[derive(serde::Deserialize)]
    struct Days {
        #[serde(default, deserialize_with = "super::whole_or_none")]
        days: Option<u32>,
        #[serde(deserialize_with = "super::whole")]
        width: u32,
    }

    #[derive(serde::Deserialize)]
    struct Transfer {
        #[serde(default, deserialize_with = "super::whole_u64_or_none")]
        transfer: Option<u64>,
    }

    #[test]
    fn a_large_whole_number_is_read_exactly() {
        let read = |text: &str| serde_json::from_str::<Transfer>(text).map(|t| t.transfer);
        assert_eq!(read(r#"{"transfer": 18446744073709551615}"#).ok(), Some(Some(u64::MAX)));
        assert_eq!(read(r#"{"transfer": 2361838.0}"#).ok(), Some(Some(2_361_838)));
        assert!(read(r#"{"transfer": 1e300}"#).is_err());
        assert!(read(r#"{"transfer": -3}"#).is_err());
    }

    #[test]
    fn a_whole_number_may_be_written_with_a_point() {
        let read = |text: &str| serde_json::from_str::<Days>(text).map(|d| (d.days, d.width));
        assert_eq!(read(r#"{"days": 30, "width": 648.0}"#).ok(), Some((Some(30), 648)));
        assert_eq!(read(r#"{"days": null, "width": 1}"#).ok(), Some((None, 1)));
        assert_eq!(read(r#"{"width": 1}"#).ok(), Some((None, 1)));
        assert_eq!(
            read(r#"{"days": 4294967295.0, "width": 0}"#).ok(),
            Some((Some(u32::MAX), 0))
        );
        for refused in [
            r#"{"days": 1.5, "width": 1}"#,
            r#"{"width": -1}"#,
            r#"{"width": 5e9}"#,
            r#"{"width": "1"}"#,
        ] {
            assert!(read(refused).is_err(), "{refused}");
        }
    }
}
