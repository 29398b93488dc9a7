//! E-mail (`.eml`, RFC 5322/MIME) with mail-parser: the main headers, the
//! text bodies, and the text of each attachment by its own extractor,
//! recursively (forwarded messages included), within a depth and a count
//! limit so that a message of 500 nested attachments stays cheap.

use mail_parser::{Message, MessageParser, MimeHeaders};

/// The deepest nesting read (a message attached to a message ...).
const DEPTH_MAX: u32 = 5;
/// The most attachments read in one message, all levels together.
const ATTACHMENTS_MAX: usize = 100;
/// The most text kept from one message.
const OUTPUT_MAX: usize = 32 * 1024 * 1024;

/// The text of an e-mail.
pub(crate) fn text_of(bytes: &[u8], context: &super::Context) -> Result<String, String> {
    let message = MessageParser::default()
        .parse(bytes)
        .ok_or("not a readable e-mail message")?;
    let mut out = String::new();
    let mut left = ATTACHMENTS_MAX;
    write_message(&message, *context, &mut out, &mut left);
    Ok(out)
}

fn addresses(list: Option<&mail_parser::Address<'_>>) -> String {
    list.map(|a| {
        a.iter()
            .map(|addr| match (addr.name(), addr.address()) {
                (Some(n), Some(e)) => format!("{n} <{e}>"),
                (Some(n), None) => n.to_owned(),
                (None, Some(e)) => e.to_owned(),
                (None, None) => String::new(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    })
    .unwrap_or_default()
}

fn write_message(message: &Message<'_>, context: super::Context, out: &mut String, left: &mut usize) {
    for (label, value) in [
        ("De", addresses(message.from())),
        ("À", addresses(message.to())),
        ("Objet", message.subject().unwrap_or_default().to_owned()),
        ("Date", message.date().map(|d| d.to_rfc3339()).unwrap_or_default()),
    ] {
        if !value.is_empty() {
            out.push_str(&format!("{label}: {value}\n"));
        }
    }
    let mut i = 0;
    while let Some(body) = message.body_text(i) {
        out.push_str(&body);
        out.push('\n');
        i += 1;
    }
    for part in message.attachments() {
        if out.len() > OUTPUT_MAX {
            return;
        }
        if *left == 0 {
            out.push_str(&format!("[pièces jointes au-delà de {ATTACHMENTS_MAX} non lues]\n"));
            return;
        }
        *left -= 1;
        if let Some(name) = part.attachment_name() {
            out.push_str(&format!("[pièce jointe : {name}]\n"));
        }
        if let Some(inner) = part.message() {
            if context.depth < DEPTH_MAX {
                write_message(inner, context.nested(), out, left);
            }
            continue;
        }
        let contents = part.contents();
        let media_type = crate::domain::media_type::sniff(&contents[..contents.len().min(8192)]);
        let extraction = super::extract_bytes(&media_type, contents, &context.nested());
        out.push_str(&extraction.text);
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::text_of;

    #[test]
    fn headers_body_and_attachments() {
        let eml = concat!(
            "From: Mairie <mairie@example.fr>\r\nTo: compta@example.fr\r\nSubject: Facture =?utf-8?q?r=C3=A9gl=C3=A9e?=\r\n",
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n",
            "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nVeuillez trouver la facture.\r\n",
            "--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"f.txt\"\r\n\r\nMontant 42 euros\r\n",
            "--b--\r\n"
        );
        let context = super::super::Context {
            options: super::super::ExtractOptions::default(),
            depth: 0,
        };
        let text = text_of(eml.as_bytes(), &context).unwrap();
        assert!(text.contains("Objet: Facture réglée"), "{text}");
        assert!(text.contains("Veuillez trouver la facture."), "{text}");
        assert!(text.contains("Montant 42 euros") && text.contains("f.txt"), "{text}");
    }
}
