//! Every parser of outside input, behind one function each, for the
//! fuzzers (`fuzz/`, `make fuzz`) and the regression tests of what they
//! found. Each takes the raw bytes a client, a package or a disk may
//! hand coffre and must return, whatever they are: no panic, no hang, no
//! unbounded allocation. What a parser accepts it must read back the same.

use crate::domain::event::Event;

/// A plan file (`PUT /plan`, `coffre plan publish`).
pub fn plan(bytes: &[u8]) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = crate::policies::load_plan(text);
    }
}

/// A naming template (`filename = "…"` in a plan).
pub fn naming_template(bytes: &[u8]) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = crate::domain::naming::Template::parse(text);
    }
}

/// A search query (`q=`, `POST /exports {"query"}`, a hold's query).
pub fn search_query(bytes: &[u8]) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = crate::domain::query::parse(text);
    }
}

/// A SEDA manifest of an imported package.
pub fn seda_manifest(bytes: &[u8]) {
    let _ = crate::package::seda::read_manifest(bytes);
}

/// The archives' SEDA reply to a transfer (`POST /transfers/reply`).
pub fn seda_reply(bytes: &[u8]) {
    let _ = crate::package::seda::read_reply(bytes);
}

/// A BagIt bag's tag files: a manifest and `bag-info.txt`.
pub fn bagit_tag_files(bytes: &[u8]) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = crate::package::bagit::parse_manifest(text, "manifest-sha256.txt");
        let _ = crate::package::bagit::parse_bag_info(text);
    }
}

/// A structured invoice's XML: UBL, or CII (Factur-X's). The XML a
/// Factur-X PDF carries is detached by poppler's `pdfdetach`, in a process
/// of its own under time and memory limits, not by a parser of ours.
pub fn invoice(bytes: &[u8]) {
    let _ = crate::extract::invoice::from_xml(bytes);
}

/// An accounting flow (PES V2) or its acknowledgement, split as the
/// shipped mapping says (`POST /flows/pes`, `coffre pes`, a `pes` folder);
/// pièces justificatives decoded up to 1 MiB.
pub fn pes_flow(bytes: &[u8]) {
    static MAPPING: std::sync::OnceLock<crate::domain::pes::PesMapping> = std::sync::OnceLock::new();
    let mapping = MAPPING.get_or_init(crate::policies::mappings::default_pes_mapping);
    let limits = crate::extract::pes::Limits { file_max: 1 << 20 };
    let _ = crate::extract::pes::split(bytes, None, mapping, limits);
}

/// An e-invoice lifecycle message (CDAR), as `POST /flows/cdv` and a `cdv`
/// folder read it.
pub fn lifecycle_message(bytes: &[u8]) {
    let _ = crate::extract::cdar::read(bytes);
}

/// Text extraction of a deposit in-process (plain text, HTML, e-mail,
/// office documents, spreadsheets, zips), its media type picked by the
/// first byte.
pub fn extraction(bytes: &[u8]) {
    const TYPES: [&str; 8] = [
        "text/plain",
        "text/html",
        "message/rfc822",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/zip",
        "text/csv",
    ];
    let Some((&pick, content)) = bytes.split_first() else {
        return;
    };
    let media_type = TYPES[usize::from(pick) % TYPES.len()];
    let options = crate::extract::ExtractOptions::default();
    let _ = crate::extract::extract(media_type, &mut &content[..], options);
}

/// One line of the journal, as read back from disk: what decodes (its
/// hash checked) encodes to a line that decodes to the same event.
pub fn journal_line(bytes: &[u8]) {
    if let Ok(event) = Event::from_line(bytes) {
        let again = Event::from_line(&event.to_line());
        assert!(
            again.as_ref().is_ok_and(|e| *e == event),
            "a journal line that decodes does not read back the same: {again:?}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inputs the fuzzers found, or that guard what they must not find.
    #[test]
    fn awkward_inputs_are_answered_without_a_panic() {
        let inputs: [&[u8]; 11] = [
            b"",
            b"\xff\xfe",
            b"[[nodes]]\ncode = \"A\"\nparent = \"A\"\n",
            b"{node}/{date:%Y}/{{",
            b"((((((((((((((((((((a",
            b"<ArchiveTransfer xmlns=\"fr:gouv:culture:archivesdefrance:seda:v2.3\">",
            b"sha256  \n\n: x",
            b"{\"seq\":1}",
            b"<PES_Aller><PES_PJ><PJ><Contenu><Fichier>H4sI</Fichier></Contenu></PJ></PES_PJ></PES_Aller>",
            b"<?xml version=\"1.0\" encoding=\"UTF-16\"?><PES_ACQUIT/>",
            b"<CrossDomainAcknowledgementAndResponse xmlns=\"urn:un:unece:uncefact:data:standard:CrossDomainAcknowledgementAndResponse:100\"><ExchangedDocument><ID>x</ID></ExchangedDocument></CrossDomainAcknowledgementAndResponse>",
        ];
        for input in inputs {
            plan(input);
            naming_template(input);
            search_query(input);
            seda_manifest(input);
            seda_reply(input);
            bagit_tag_files(input);
            invoice(input);
            pes_flow(input);
            lifecycle_message(input);
            extraction(input);
            journal_line(input);
        }
    }
}
