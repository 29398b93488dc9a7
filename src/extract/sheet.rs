//! Spreadsheets: XLSX and ODS with calamine, every sheet's name and cells,
//! one row a line, after the zip caps of [`super::zipped`] have passed.

use calamine::{Data, Ods, Range, Reader, Xlsx};
use std::io::Cursor;

/// The most cells read from one workbook.
const CELLS_MAX: usize = 2_000_000;

/// The text of an XLSX workbook.
pub fn xlsx(bytes: &[u8]) -> Result<String, String> {
    super::zipped::check_archive(bytes)?;
    let mut workbook: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| format!("not a readable XLSX workbook: {e}"))?;
    Ok(text_of(workbook.worksheets()))
}

/// The text of an ODS workbook.
pub fn ods(bytes: &[u8]) -> Result<String, String> {
    super::zipped::check_archive(bytes)?;
    let mut workbook: Ods<_> = Ods::new(Cursor::new(bytes)).map_err(|e| format!("not a readable ODS workbook: {e}"))?;
    Ok(text_of(workbook.worksheets()))
}

/// Sheet names, then cells, one row a line, within [`CELLS_MAX`].
fn text_of(sheets: Vec<(String, Range<Data>)>) -> String {
    let mut out = String::new();
    let mut cells = 0usize;
    for (name, range) in sheets {
        out.push_str(&name);
        out.push('\n');
        for row in range.rows() {
            for cell in row {
                cells += 1;
                if cells > CELLS_MAX {
                    out.push_str(&format!("[cellules au-delà de {CELLS_MAX} non lues]\n"));
                    return out;
                }
                let text = cell.to_string();
                if !text.is_empty() {
                    out.push_str(&text);
                    out.push('\t');
                }
            }
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{ods, xlsx};
    use crate::extract::office::tests::zip_of;

    #[test]
    fn ods_and_xlsx_cells() {
        let ods_bytes = zip_of(&[
            ("mimetype", "application/vnd.oasis.opendocument.spreadsheet"),
            (
                "META-INF/manifest.xml",
                r#"<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#,
            ),
            (
                "content.xml",
                r#"<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="Budget"><table:table-row><table:table-cell office:value-type="string"><text:p>Trésorerie</text:p></table:table-cell><table:table-cell office:value-type="float" office:value="1250.5"><text:p>1250.5</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"#,
            ),
        ]);
        let text = ods(&ods_bytes).unwrap();
        assert!(
            text.contains("Budget") && text.contains("Trésorerie") && text.contains("1250.5"),
            "{text}"
        );

        let xlsx_bytes = zip_of(&[
            (
                "[Content_Types].xml",
                r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
            ),
            (
                "_rels/.rels",
                r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
            ),
            (
                "xl/workbook.xml",
                r#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Mandats" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
            ),
            (
                "xl/_rels/workbook.xml.rels",
                r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
            ),
            (
                "xl/worksheets/sheet1.xml",
                r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Fournisseur</t></is></c><c r="B1"><v>42</v></c></row></sheetData></worksheet>"#,
            ),
        ]);
        let text = xlsx(&xlsx_bytes).unwrap();
        assert!(
            text.contains("Mandats") && text.contains("Fournisseur") && text.contains("42"),
            "{text}"
        );
        assert!(xlsx(b"PK\x03\x04 broken").is_err());
    }
}
