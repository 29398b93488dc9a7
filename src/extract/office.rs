//! Office documents: DOCX (`word/document.xml`) and ODT (`content.xml`),
//! read with quick-xml within the zip caps of [`super::zipped`]. Paragraphs,
//! table cells and line breaks become spaces and line ends.

use super::zipped::member_text;
use quick_xml::Reader;
use quick_xml::events::Event;

/// Elements holding text, and those that end a block, for each format.
struct Dialect {
    member: &'static str,
    text: &'static [&'static str],
    breaks: &'static [&'static str],
}

const DOCX: Dialect = Dialect {
    member: "word/document.xml",
    text: &["t"],
    breaks: &["p", "br", "tab", "tc"],
};

const ODT: Dialect = Dialect {
    member: "content.xml",
    text: &[
        "p",
        "h",
        "span",
        "a",
        "s",
        "tab",
        "line-break",
        "list-item",
        "table-cell",
    ],
    breaks: &["p", "h", "line-break", "tab", "table-cell"],
};

/// The text of a DOCX document.
pub fn docx(bytes: &[u8]) -> Result<String, String> {
    text_of(bytes, &DOCX)
}

/// The text of an ODT document.
pub fn odt(bytes: &[u8]) -> Result<String, String> {
    text_of(bytes, &ODT)
}

fn text_of(bytes: &[u8], dialect: &Dialect) -> Result<String, String> {
    super::zipped::check_archive(bytes)?;
    let xml = member_text(bytes, dialect.member)?;
    let mut reader = Reader::from_str(&xml);
    let mut out = String::with_capacity(xml.len() / 4);
    // How deep we are inside elements that hold text.
    let mut inside = 0usize;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                if dialect.text.contains(&e.local_name().as_ref()) {
                    inside += 1;
                }
            }
            Ok(Event::End(e)) => {
                let name = e.local_name();
                if dialect.text.contains(&name.as_ref()) {
                    inside = inside.saturating_sub(1);
                }
                if dialect.breaks.contains(&name.as_ref()) {
                    out.push('\n');
                }
            }
            Ok(Event::Empty(e)) => {
                if dialect.breaks.contains(&e.local_name().as_ref()) || e.local_name().as_ref() == "s" {
                    out.push(' ');
                }
            }
            Ok(Event::Text(t)) if inside > 0 => out.push_str(&t.xml10_content()),
            Ok(Event::GeneralRef(r)) if inside > 0 => match r.resolve_char_ref() {
                Ok(Some(c)) => out.push(c),
                _ => out.push_str(match &*r {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    _ => "",
                }),
            },
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => {
                return Err(format!(
                    "{}: malformed XML at byte {}: {e}",
                    dialect.member,
                    reader.buffer_position()
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// A zip with the given members, stored uncompressed.
    pub fn zip_of(members: &[(&str, &str)]) -> Vec<u8> {
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut buf);
            let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
            for (name, content) in members {
                w.start_file(*name, options).unwrap();
                w.write_all(content.as_bytes()).unwrap();
            }
            w.finish().unwrap();
        }
        buf.into_inner()
    }

    #[test]
    fn docx_and_odt_text() {
        let docx_bytes = zip_of(&[(
            "word/document.xml",
            r#"<w:document xmlns:w="x"><w:body><w:p><w:r><w:t>Délibération</w:t></w:r><w:r><w:t xml:space="preserve"> du conseil &amp; vote</w:t></w:r></w:p><w:p><w:r><w:t>Second</w:t></w:r></w:p></w:body></w:document>"#,
        )]);
        assert_eq!(
            docx(&docx_bytes).unwrap().trim(),
            "Délibération du conseil & vote\nSecond"
        );
        let odt_bytes = zip_of(&[(
            "content.xml",
            r#"<office:document-content xmlns:office="o" xmlns:text="t"><office:body><office:text><text:h>Arrêté</text:h><text:p>Le maire<text:s/>arrête &#233;t&#xE9;</text:p></office:text></office:body></office:document-content>"#,
        )]);
        let text = odt(&odt_bytes).unwrap();
        assert!(
            text.contains("Arrêté") && text.contains("Le maire arrête été"),
            "{text}"
        );
        assert!(docx(b"not a zip").is_err());
        assert!(
            docx(&zip_of(&[("other.xml", "<a/>")]))
                .unwrap_err()
                .contains("word/document.xml")
        );
    }
}
