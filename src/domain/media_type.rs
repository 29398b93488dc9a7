//! Media types sniffed from a file's first bytes, never from its name: a
//! name is the depositor's word, the bytes are the document.

/// The media type of content starting with `head`.
///
/// E-mail messages are recognised by their header block.
///
/// Known binary signatures come first (through the `infer` crate); then
/// valid UTF-8 without control characters other than whitespace is
/// `text/plain; charset=utf-8`; anything else is `application/octet-stream`.
pub fn sniff(head: &[u8]) -> String {
    // Checked first: a message may carry another format's signature (a PDF
    // attachment sent as 8-bit text) where `infer` looks for one.
    if std::str::from_utf8(head).is_ok_and(looks_like_email) {
        return "message/rfc822".to_owned();
    }
    // XHTML starts as XML (`<?xml ...?>`), which `infer` calls XML: its
    // text is what a person reads, not its markup.
    if looks_like_xhtml(head) {
        return "text/html".to_owned();
    }
    if let Some(kind) = infer::get(head) {
        return kind.mime_type().to_owned();
    }
    if head.is_empty() {
        return "application/octet-stream".to_owned();
    }
    // The head may end inside a multi-byte character: judge what is whole.
    let text = match std::str::from_utf8(head) {
        Ok(t) => Some(t),
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok(),
        Err(_) => None,
    };
    match text {
        Some(t) if t.chars().all(|c| !c.is_control() || c.is_whitespace()) => {
            let trimmed = t.trim_start();
            if looks_like_email(t) {
                "message/rfc822".to_owned()
            } else if trimmed.starts_with("<?xml") {
                "application/xml".to_owned()
            } else if starts_with_ignoring_case(trimmed, "<html")
                || starts_with_ignoring_case(trimmed, "<!doctype html")
            {
                "text/html".to_owned()
            } else {
                "text/plain; charset=utf-8".to_owned()
            }
        }
        Some(_) => "application/octet-stream".to_owned(),
        None if looks_like_windows_1252(head) => "text/plain; charset=windows-1252".to_owned(),
        None => "application/octet-stream".to_owned(),
    }
}

/// Whether bytes start as an XHTML page does: an optional XML declaration,
/// then `<!DOCTYPE html` or `<html`.
fn looks_like_xhtml(head: &[u8]) -> bool {
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        Err(e) => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default(),
    };
    let mut rest = text.trim_start_matches('\u{feff}').trim_start();
    if starts_with_ignoring_case(rest, "<?xml") {
        let Some(end) = rest.find("?>") else {
            return false;
        };
        rest = rest[end + 2..].trim_start();
    }
    starts_with_ignoring_case(rest, "<!doctype html") || starts_with_ignoring_case(rest, "<html")
}

/// Whether `text` starts with the ASCII `prefix`, whatever the case. Bytes
/// are compared, so a multi-byte character where the prefix ends (`La
/// règle`: byte 5 falls inside `è`) is simply not a match.
fn starts_with_ignoring_case(text: &str, prefix: &str) -> bool {
    text.as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// Whether bytes that are not UTF-8 read as Windows-1252 text (what older
/// French office software wrote): no control characters but whitespace, no
/// byte that Windows-1252 leaves undefined, and mostly ASCII.
fn looks_like_windows_1252(head: &[u8]) -> bool {
    let undefined = |b: u8| matches!(b, 0x81 | 0x8D | 0x8F | 0x90 | 0x9D);
    let control = |b: u8| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C)) || b == 0x7F;
    let high = head.iter().filter(|b| **b >= 0x80).count();
    !head.is_empty() && !head.iter().any(|b| undefined(*b) || control(*b)) && high * 4 < head.len()
}

/// Whether text starts as an e-mail message does: a block of header lines,
/// among them `From:` and one of `Subject:`, `Date:` or `MIME-Version:`.
fn looks_like_email(text: &str) -> bool {
    let mut from = false;
    let mut other = false;
    for line in text.lines().take(200) {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            continue; // a folded header line
        }
        let Some((name, _)) = line.split_once(':') else {
            return false;
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return false;
        }
        match name.to_ascii_lowercase().as_str() {
            "from" => from = true,
            "subject" | "date" | "mime-version" => other = true,
            _ => {}
        }
    }
    from && other
}

#[cfg(test)]
mod tests {
    use super::sniff;

    #[test]
    fn sniffs_from_bytes() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), "application/pdf");
        assert_eq!(sniff("Délibération du conseil".as_bytes()), "text/plain; charset=utf-8");
        assert_eq!(sniff(b"<?xml version=\"1.0\"?><a/>"), "text/xml");
        assert_eq!(sniff(b"<!DOCTYPE html><p>x"), "text/html");
        assert_eq!(sniff(&[0, 159, 146, 150]), "application/octet-stream");
        assert_eq!(sniff(b"r\xe9union du comit\xe9"), "text/plain; charset=windows-1252");
        assert_eq!(sniff(b""), "application/octet-stream");
        assert_eq!(
            sniff(b"Received: x\r\nFrom: a@b.fr\r\nSubject: s\r\n\r\nbody"),
            "message/rfc822"
        );
        assert_eq!(
            sniff(b"From: a\nnot a header line\nSubject: x"),
            "text/plain; charset=utf-8"
        );
        // A head cut inside a two-byte character is still text.
        assert_eq!(sniff(&"é".as_bytes()[..1]), "text/plain; charset=utf-8");
    }

    #[test]
    fn text_whose_accents_fall_where_a_signature_would_end_is_text() {
        // These once panicked: byte 5 or 14 fell inside an accented letter.
        for text in [
            "La règle pour ces expressions",
            "La fête communale",
            "Le père Noël",
            "Un résumé détaillé du dossier",
            "ééééééééééééééé",
            "  \u{a0}La règle",
        ] {
            assert_eq!(sniff(text.as_bytes()), "text/plain; charset=utf-8", "{text}");
        }
        assert_eq!(sniff(b"<HTML><body>x"), "text/html");
        // XHTML, as DocBook and many manuals write it.
        assert_eq!(
            sniff(b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0//EN\" \"x\"><html xmlns=\"http://www.w3.org/1999/xhtml\"><head>"),
            "text/html"
        );
        assert_eq!(sniff(b"<?xml version=\"1.0\"?><html><body>x"), "text/html");
        assert_eq!(sniff(b"<?xml version=\"1.0\"?><Invoice/>"), "text/xml");
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_are_sniffed_without_panicking(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = sniff(&bytes);
        }

        #[test]
        fn any_text_is_sniffed_without_panicking(text in "\\PC{0,40}") {
            let _ = sniff(text.as_bytes());
        }
    }
}
