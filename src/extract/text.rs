//! Plain text: UTF-8, or Windows-1252 (a superset of ISO-8859-1 for text,
//! and what French office software long wrote) when the bytes are not UTF-8.
//! ISO-8859-15 differs from it by eight rarely used characters (€ aside,
//! which both place differently); Windows-1252 is the better guess.

/// Decodes text bytes.
pub fn decode(bytes: &[u8]) -> Result<String, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_owned()),
        // A cut inside the last character (the read cap) is still UTF-8.
        Err(e) if e.error_len().is_none() => Ok(String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned()),
        Err(_) => {
            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
            Ok(text.into_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn decodes_utf8_and_windows_1252() {
        assert_eq!(decode("été".as_bytes()).unwrap(), "été");
        assert_eq!(decode(b"\xEF\xBB\xBFabc").unwrap(), "abc");
        assert_eq!(decode(b"\xe9t\xe9 \x80").unwrap(), "été €");
        assert_eq!(decode(&"é".as_bytes()[..1]).unwrap(), "");
    }
}
