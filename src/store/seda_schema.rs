//! Validation of SEDA 2.3 messages against the official schemas
//! (`schemas/seda/`, built into the binary), by `xmllint` (Debian's
//! `libxml2-utils`) run as a separate process under a time limit: the
//! schemas are written to a temporary folder, the message is given on its
//! standard input, and nothing is fetched from the network.

use std::io::Write;
use std::process::{Command, Stdio};

/// The schema files, by their path under the folder `xmllint` reads.
const SCHEMAS: [(&str, &str); 8] = [
    (
        "seda2_3/seda-2.3-main.xsd",
        include_str!("../../schemas/seda/seda2_3/seda-2.3-main.xsd"),
    ),
    (
        "seda2_3/seda-2.3-types.xsd",
        include_str!("../../schemas/seda/seda2_3/seda-2.3-types.xsd"),
    ),
    (
        "seda2_3/seda-2.3-technical.xsd",
        include_str!("../../schemas/seda/seda2_3/seda-2.3-technical.xsd"),
    ),
    (
        "seda2_3/seda-2.3-management.xsd",
        include_str!("../../schemas/seda/seda2_3/seda-2.3-management.xsd"),
    ),
    (
        "seda2_3/seda-2.3-descriptive.xsd",
        include_str!("../../schemas/seda/seda2_3/seda-2.3-descriptive.xsd"),
    ),
    (
        "seda2_3/seda-2.3-ontology.xsd",
        include_str!("../../schemas/seda/seda2_3/seda-2.3-ontology.xsd"),
    ),
    ("w3c/2001/xml.xsd", include_str!("../../schemas/seda/w3c/2001/xml.xsd")),
    (
        "w3c/1999/xlink.xsd",
        include_str!("../../schemas/seda/w3c/1999/xlink.xsd"),
    ),
];

/// How long `xmllint` may take.
const SECONDS: &str = "60";

/// How many of the validator's complaints are kept.
const PROBLEMS_MAX: usize = 10;

/// Why a message was not found valid.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The message breaks the schema: the validator's complaints, each
    /// with its line.
    #[error("not valid against the SEDA 2.3 schema: {}", .0.join(" ; "))]
    Invalid(Vec<String>),
    /// The validator could not be run.
    #[error("the SEDA 2.3 validator (xmllint) could not be run: {0}")]
    Unavailable(String),
}

/// Checks `xml` against the SEDA 2.3 schema.
pub fn validate(xml: &[u8]) -> Result<(), SchemaError> {
    let folder = tempfile::tempdir().map_err(|e| SchemaError::Unavailable(format!("a temporary folder: {e}")))?;
    for (path, text) in SCHEMAS {
        let file = folder.path().join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(|e| SchemaError::Unavailable(e.to_string()))?;
        }
        std::fs::write(&file, text).map_err(|e| SchemaError::Unavailable(e.to_string()))?;
    }
    let main = folder.path().join(SCHEMAS[0].0);
    let mut child = Command::new("timeout")
        .args(["--kill-after=5", SECONDS, "xmllint", "--noout", "--nonet", "--schema"])
        .arg(&main)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| SchemaError::Unavailable(format!("cannot run timeout and xmllint: {e}")))?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| SchemaError::Unavailable("no pipe to xmllint".into()))?;
    let input = xml.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let output = child
        .wait_with_output()
        .map_err(|e| SchemaError::Unavailable(format!("waiting for xmllint: {e}")))?;
    let _ = feeder.join();
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => Ok(()),
        // xmllint: 1 unparsable, 3 and 4 invalid; 5 the schema itself.
        Some(1..=4) => Err(SchemaError::Invalid(problems(&stderr))),
        Some(124) | Some(137) => Err(SchemaError::Unavailable(format!(
            "xmllint took longer than {SECONDS} s"
        ))),
        Some(127) => Err(SchemaError::Unavailable(
            "xmllint is not installed (Debian package libxml2-utils)".into(),
        )),
        other => Err(SchemaError::Unavailable(format!(
            "xmllint failed ({other:?}): {}",
            stderr.lines().next().unwrap_or_default()
        ))),
    }
}

/// The validator's complaints, each as `ligne N : what`, without the
/// echo of the offending line and its caret.
fn problems(stderr: &str) -> Vec<String> {
    let mut found: Vec<String> = stderr
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("-:")?;
            let (number, what) = rest.split_once(':')?;
            let number: u64 = number.trim().parse().ok()?;
            let what = what.split_once("validity error :").map_or(what, |(_, w)| w);
            let what = what.replace("{fr:gouv:culture:archivesdefrance:seda:v2.3}", "");
            Some(format!("ligne {number} : {}", what.trim()))
        })
        .take(PROBLEMS_MAX)
        .collect();
    if found.is_empty() {
        found.push(
            stderr
                .lines()
                .find(|l| !l.trim().is_empty() && !l.contains("fails to validate"))
                .unwrap_or("document XML illisible")
                .trim()
                .to_owned(),
        );
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complaints_are_read_with_their_line() {
        let stderr = "-:7: element Foo: Schemas validity error : Element '{fr:gouv:culture:archivesdefrance:seda:v2.3}Foo': This element is not expected.\n- fails to validate\n";
        assert_eq!(
            problems(stderr),
            vec!["ligne 7 : Element 'Foo': This element is not expected.".to_owned()]
        );
        assert_eq!(
            problems("- fails to validate\n"),
            vec!["document XML illisible".to_owned()]
        );
    }
}
