//! `coffre ingest FOLDER`: many files at once (`--jobs`), told in the order
//! of the files, going on past the ones refused, with a summary.

use crate::common::*;

#[test]
fn a_folder_goes_in_several_files_at_once_and_is_told_in_the_order_of_its_files() {
    let Fresh { tmp, data, token: _ } = fresh_archive();
    let folder = tmp.path().join("numerisations");
    std::fs::create_dir_all(&folder).expect("folder");
    let mut names = Vec::new();
    for n in 0..30 {
        let name = format!("facture-{n:03}.txt");
        std::fs::write(
            folder.join(&name),
            format!("Facture n° {n} de la boulangerie du Centre, montant {n},00 €"),
        )
        .expect("write");
        names.push(name);
    }
    // One that no classification rule recognises, among the others.
    std::fs::write(folder.join("facture-015-bis.txt"), "zzz qqq").expect("write");
    let out = cli(
        &data,
        &[
            "ingest",
            folder.to_str().expect("path"),
            "--jobs",
            "6",
            "--date",
            "2024-03-15",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "one refused: {}", stderr(&out));
    let lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    let told: Vec<String> = lines
        .iter()
        .filter_map(|l| l.rsplit('/').next().map(str::to_owned))
        .collect();
    assert_eq!(told, names, "one line per file archived, in the order of the files");
    let references: std::collections::BTreeSet<&str> = lines.iter().filter_map(|l| l.split('\t').next()).collect();
    assert_eq!(references.len(), 30, "each file its own record: {lines:?}");
    assert!(
        references.iter().all(|r| r.starts_with("FIN-FAC-2024-")),
        "{references:?}"
    );
    let said = stderr(&out);
    assert!(said.contains("30 déposés sur 31 fichiers"), "{said}");
    assert!(said.contains("fichiers/s") && said.contains("1 refusé"), "{said}");
    assert!(said.contains("facture-015-bis.txt: node"), "{said}");
    // Every one is in the archive, and it verifies.
    let out = cli(&data, &["audit", "verify"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    // A number of jobs out of bounds is refused before anything is read.
    let out = cli(&data, &["ingest", folder.to_str().expect("path"), "--jobs", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
