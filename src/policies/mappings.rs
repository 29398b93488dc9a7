//! Mapping files: where capture reads each field of a structured flow.
//! Today one, the PES V2 mapping (`mappings/pes-v2.toml`, shipped in the
//! binary, replaced by `serve --pes-mapping FILE`): read as TOML, checked
//! table by table, every problem reported at once with its line, as plan
//! files are.

use super::{Lines, PlanFileProblem};
use crate::domain::pes::{MappingProblem, PartKind, PesMapping, RawPartMapping, check_part};

/// The PES V2 mapping shipped with coffre.
pub const DEFAULT_PES_MAPPING: &str = include_str!("../../mappings/pes-v2.toml");

/// The shipped PES mapping, read (its tests check that it reads).
pub fn default_pes_mapping() -> PesMapping {
    match load_pes_mapping(DEFAULT_PES_MAPPING) {
        Ok(mapping) => mapping,
        Err(problems) => panic!("the shipped PES mapping does not read: {problems:?}"),
    }
}

/// Reads a mapping file the operator names, every problem with its line.
pub fn read_pes_mapping(path: &std::path::Path) -> Result<PesMapping, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    load_pes_mapping(&text).map_err(|problems| {
        let said: Vec<String> = problems.iter().map(|p| format!("{}:{p}", path.display())).collect();
        said.join("\n")
    })
}

/// The format of mapping files this version reads.
const FORMAT: i64 = 1;

/// Reads and checks a PES mapping file's text.
pub fn load_pes_mapping(text: &str) -> Result<PesMapping, Vec<PlanFileProblem>> {
    let lines = Lines::parse(text).map_err(|p| vec![p])?;
    let top = lines.table();
    let mut problems = Vec::new();
    let mut id = String::new();
    match top.get("mapping").and_then(|i| i.as_table()) {
        Some(header) => {
            for (key, item) in header.iter() {
                match key {
                    "id" => match item.as_str() {
                        Some(s) if !s.trim().is_empty() => id = s.trim().to_owned(),
                        _ => problems.push(lines.at("mapping.id".into(), "un identifiant non vide est exigé".into())),
                    },
                    "title" => {
                        if item.as_str().is_none() {
                            problems.push(lines.at("mapping.title".into(), "un texte est attendu".into()));
                        }
                    }
                    "format" => {
                        if item.as_integer() != Some(FORMAT) {
                            problems.push(lines.at(
                                "mapping.format".into(),
                                format!("cette version de coffre lit le format {FORMAT}"),
                            ));
                        }
                    }
                    other => problems.push(lines.at(
                        format!("mapping.{other}"),
                        "clé inconnue (id, title, format sont attendus)".into(),
                    )),
                }
            }
            if id.is_empty() && !problems.iter().any(|p| p.path == "mapping.id") {
                problems.push(lines.at("mapping".into(), "« id » est exigé".into()));
            }
        }
        None => problems.push(lines.at(
            String::new(),
            "une table [mapping] (id, title, format = 1) est exigée".into(),
        )),
    }
    for (key, _) in top.iter() {
        if key != "mapping" && PartKind::from_key(key).is_none() {
            let known: Vec<&str> = PartKind::ALL.iter().map(|k| k.key()).collect();
            problems.push(lines.at(
                key.to_owned(),
                format!("table inconnue ; les tables sont : mapping, {}", known.join(", ")),
            ));
        }
    }
    let mut parts = Vec::new();
    for kind in PartKind::ALL {
        let key = kind.key();
        let Some(table) = top.get(key).and_then(|i| i.as_table()) else {
            problems.push(lines.at(
                String::new(),
                format!("la table [{key}] est exigée (node, title, fields)"),
            ));
            continue;
        };
        let mut raw = RawPartMapping::default();
        let text = |name: &str, item: &toml_edit::Item, problems: &mut Vec<PlanFileProblem>| -> String {
            match item.as_str() {
                Some(s) => s.to_owned(),
                None => {
                    problems.push(lines.at(format!("{key}.{name}"), "un texte entre guillemets est attendu".into()));
                    String::new()
                }
            }
        };
        for (name, item) in table.iter() {
            match name {
                "node" => raw.node = text(name, item, &mut problems),
                "title" => raw.title = text(name, item, &mut problems),
                "document_type" => raw.document_type = Some(text(name, item, &mut problems)),
                "date" => raw.date = Some(text(name, item, &mut problems)),
                "fields" => match item.as_table() {
                    Some(fields) => {
                        for (field, value) in fields.iter() {
                            let path = text(&format!("fields.{field}"), value, &mut problems);
                            raw.fields.push((field.to_owned(), path));
                        }
                    }
                    None => problems.push(lines.at(
                        format!("{key}.fields"),
                        "une table de champs est attendue ([…fields], nom = \"chemin\")".into(),
                    )),
                },
                other => problems.push(lines.at(
                    format!("{key}.{other}"),
                    "clé inconnue (node, document_type, title, date, fields sont attendus)".into(),
                )),
            }
        }
        match check_part(kind, raw) {
            Ok(mapping) => parts.push((kind, mapping)),
            Err(found) => problems.extend(
                found
                    .into_iter()
                    .map(|MappingProblem { path, message }| lines.at(path, message)),
            ),
        }
    }
    if problems.is_empty() {
        Ok(PesMapping { id, parts })
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_mapping_reads_and_maps_every_kind() {
        let mapping = load_pes_mapping(DEFAULT_PES_MAPPING).expect("the shipped mapping");
        assert_eq!(mapping.id, "pes-v2");
        for kind in PartKind::ALL {
            assert!(mapping.part(kind).is_some(), "{kind}");
        }
        let mandate = mapping.part(PartKind::Mandate).expect("mandats");
        assert_eq!(mandate.node.as_str(), "FIN-MAN");
        let names: Vec<&str> = mandate.fields.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(&names[..3], ["numero_piece", "objet", "type_piece"], "the file's order");
    }

    #[test]
    fn every_fault_is_told_at_its_line() {
        let text = DEFAULT_PES_MAPPING
            .replace("objet = \"BlocPiece/InfoPce/Obj/@V\"", "objet = \"BlocPiece/@V/Obj\"")
            .replace("[titre]\nnode = \"FIN-TIT\"", "[titre]\nnode = \"FIN TIT\"")
            + "\n[bordereau]\nnode = \"FIN-BOR\"\n";
        let problems = load_pes_mapping(&text).expect_err("three faults");
        let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).map(|i| i + 1);
        let find = |path: &str| {
            problems
                .iter()
                .find(|p| p.path == path)
                .unwrap_or_else(|| panic!("{path} in {problems:?}"))
        };
        assert_eq!(find("mandat.fields.objet").line, line_of("BlocPiece/@V/Obj"));
        assert!(find("mandat.fields.objet").message.contains("doit finir le chemin"));
        assert_eq!(find("titre.node").line, line_of("\"FIN TIT\""));
        assert_eq!(find("bordereau").line, line_of("[bordereau]"));
    }

    #[test]
    fn a_missing_table_or_header_is_named() {
        let problems = load_pes_mapping("[flux]\nnode = \"FIN-PES\"\n").expect_err("incomplete");
        let said: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(said.iter().any(|s| s.contains("[mapping]")), "{said:?}");
        assert!(said.iter().any(|s| s.contains("[mandat] est exigée")), "{said:?}");
        assert!(said.iter().any(|s| s.contains("flux.title")), "{said:?}");
    }
}
