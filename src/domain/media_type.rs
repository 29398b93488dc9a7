//! Media types sniffed from a file's first bytes, never from its name: a
//! name is the depositor's word, the bytes are the document.

/// The media type of content starting with `head`.
///
/// Known binary signatures come first (through the `infer` crate); then
/// valid UTF-8 without control characters other than whitespace is
/// `text/plain; charset=utf-8`; anything else is `application/octet-stream`.
pub fn sniff(head: &[u8]) -> String {
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
            if trimmed.starts_with("<?xml") {
                "application/xml".to_owned()
            } else if trimmed.len() >= 5 && trimmed[..5].eq_ignore_ascii_case("<html")
                || trimmed.len() >= 14 && trimmed[..14].eq_ignore_ascii_case("<!doctype html")
            {
                "text/html".to_owned()
            } else {
                "text/plain; charset=utf-8".to_owned()
            }
        }
        _ => "application/octet-stream".to_owned(),
    }
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
        assert_eq!(sniff(b""), "application/octet-stream");
        // A head cut inside a two-byte character is still text.
        assert_eq!(sniff(&"é".as_bytes()[..1]), "text/plain; charset=utf-8");
    }
}
