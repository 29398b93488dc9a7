//! RFC 3161 time-stamping, the parts coffre needs: the request for a
//! SHA-256 digest (DER), and reading the authority's response: its status
//! and the time-stamp token, which is kept as it came (a CMS SignedData an
//! auditor checks with `openssl ts -verify`). The DER here is the few fixed
//! shapes RFC 3161 §2.4 defines; nothing else is parsed.

/// The DER of the SHA-256 AlgorithmIdentifier (OID 2.16.840.1.101.3.4.2.1, NULL).
const SHA256_ALGORITHM: [u8; 15] = [
    0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
];

/// A response that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// Not the DER shape RFC 3161 defines.
    #[error("not an RFC 3161 response: {0}")]
    Malformed(&'static str),
    /// The authority refused (PKIStatus other than granted).
    #[error("the time-stamping authority refused (status {0})")]
    Refused(u64),
    /// The token does not carry the digest or nonce that was asked.
    #[error("the token does not stamp what was asked ({0})")]
    Mismatch(&'static str),
}

fn der_length(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    der_length(content.len(), &mut out);
    out.extend_from_slice(content);
    out
}

/// A positive INTEGER's content bytes.
fn positive(bytes: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    match trimmed.first() {
        None => vec![0],
        Some(b) if b & 0x80 != 0 => [&[0u8][..], &trimmed].concat(),
        Some(_) => trimmed,
    }
}

/// The DER TimeStampReq for a SHA-256 `digest`: version 1, the message
/// imprint, a nonce, and `certReq` so the token carries the signer's
/// certificate.
pub fn request(digest: &[u8; 32], nonce: &[u8; 8]) -> Vec<u8> {
    let imprint = der(0x30, &[&SHA256_ALGORITHM[..], &der(0x04, digest)].concat());
    let body = [
        der(0x02, &[1]),
        imprint,
        der(0x02, &positive(nonce)),
        der(0x01, &[0xff]),
    ]
    .concat();
    der(0x30, &body)
}

/// One DER element: its tag, its content, the whole element, and what
/// follows it.
type Element<'a> = (u8, &'a [u8], &'a [u8], &'a [u8]);

/// Reads one DER element.
fn element(input: &[u8]) -> Result<Element<'_>, TimestampError> {
    let bad = TimestampError::Malformed;
    let (&tag, rest) = input.split_first().ok_or(bad("truncated"))?;
    let (&first, rest) = rest.split_first().ok_or(bad("truncated"))?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return Err(bad("bad length"));
        }
        let len = rest[..n].iter().fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err(bad("truncated"));
    }
    let header = input.len() - rest.len();
    Ok((tag, &rest[..len], &input[..header + len], &rest[len..]))
}

/// Reads a TimeStampResp: the token (DER ContentInfo) when the status is
/// granted (0) or granted with modifications (1). Checks that the token
/// holds the digest and the nonce asked for.
pub fn token_of(response: &[u8], digest: &[u8; 32], nonce: &[u8; 8]) -> Result<Vec<u8>, TimestampError> {
    let (tag, body, _, _) = element(response)?;
    if tag != 0x30 {
        return Err(TimestampError::Malformed("not a SEQUENCE"));
    }
    let (tag, status_info, _, rest) = element(body)?;
    if tag != 0x30 {
        return Err(TimestampError::Malformed("no PKIStatusInfo"));
    }
    let (tag, status, _, _) = element(status_info)?;
    if tag != 0x02 || status.is_empty() || status.len() > 8 {
        return Err(TimestampError::Malformed("no PKIStatus"));
    }
    let status = status.iter().fold(0u64, |acc, b| (acc << 8) | *b as u64);
    if status > 1 {
        return Err(TimestampError::Refused(status));
    }
    let (tag, _, token, _) = element(rest)?;
    if tag != 0x30 {
        return Err(TimestampError::Malformed("no time-stamp token"));
    }
    let contains = |needle: &[u8]| token.windows(needle.len()).any(|w| w == needle);
    if !contains(&der(0x04, digest)) {
        return Err(TimestampError::Mismatch("message imprint"));
    }
    if !contains(&der(0x02, &positive(nonce))) {
        return Err(TimestampError::Mismatch("nonce"));
    }
    Ok(token.to_vec())
}

/// Whether a token (DER) carries `digest` as its message imprint: what
/// can be checked without the authority's certificate (`openssl ts
/// -verify` checks the signature too).
pub fn stamps(token: &[u8], digest: &[u8; 32]) -> bool {
    let needle = der(0x04, digest);
    token.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_request_is_the_rfc_shape() {
        let req = request(&[0xAB; 32], &[0x80, 0, 0, 0, 0, 0, 0, 1]);
        // SEQUENCE { INTEGER 1, SEQUENCE { AlgorithmIdentifier, OCTET STRING }, INTEGER nonce, BOOLEAN TRUE }
        assert_eq!(req[0], 0x30);
        assert_eq!(&req[2..5], &[0x02, 0x01, 0x01]);
        assert!(req.windows(15).any(|w| w == SHA256_ALGORITHM));
        assert!(req.ends_with(&[0x01, 0x01, 0xff]));
        // A nonce with its high bit set gets a leading zero (positive).
        assert!(
            req.windows(11)
                .any(|w| w == [0x02, 0x09, 0x00, 0x80, 0, 0, 0, 0, 0, 0, 1])
        );
    }

    #[test]
    fn responses_are_read_or_refused() {
        let digest = [7u8; 32];
        let nonce = [1u8; 8];
        let token = der(0x30, &[der(0x04, &digest), der(0x02, &positive(&nonce))].concat());
        let granted = der(0x30, &[der(0x30, &der(0x02, &[0])), token.clone()].concat());
        assert_eq!(token_of(&granted, &digest, &nonce), Ok(token));
        let refused = der(0x30, &der(0x30, &der(0x02, &[2])));
        assert_eq!(token_of(&refused, &digest, &nonce), Err(TimestampError::Refused(2)));
        assert!(matches!(
            token_of(&granted, &[8; 32], &nonce),
            Err(TimestampError::Mismatch(_))
        ));
        assert!(token_of(&granted[..10], &digest, &nonce).is_err());
    }

    proptest! {
        /// Arbitrary bytes never panic the reader.
        #[test]
        fn arbitrary_responses_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = token_of(&bytes, &[0; 32], &[0; 8]);
        }
    }
}
