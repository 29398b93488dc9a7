//! Documents for people and for the archives authority, shared by the HTTP
//! API and the command line: the *bordereau d'élimination* (CSV, HTML and
//! PDF), the certificate (JSON, HTML and PDF), the bordereau de versement
//! (PDF) and the accusé de dépôt (HTML), each headed by the collectivité's
//! identity and logo.

use crate::archive::{Archive, ArchiveError};
use crate::domain::disposition::Disposal;
use crate::domain::event::format_time;
use crate::domain::identity::Identity;
use crate::domain::plan::Plan;
use base64::Engine;
use serde_json::{Value, json};

/// What heads every paper: the collectivité's identity and its logo.
#[derive(Debug, Clone, Default)]
pub struct Letterhead {
    /// The identity in force, once set.
    pub identity: Option<Identity>,
    /// The logo's bytes, when it has one.
    pub logo: Option<Vec<u8>>,
}

/// The widest or tallest a logo is drawn on a PDF paper, in pixels (about
/// 300 dpi over its box).
const LOGO_PIXELS: u32 = 600;

impl Letterhead {
    /// The archive's letterhead. A logo that cannot be read (its blob
    /// damaged) leaves the papers without it, said in the log: a paper is
    /// never refused for its decoration.
    pub fn of(archive: &Archive) -> Result<Letterhead, ArchiveError> {
        let identity = archive.identity()?;
        let logo = match archive.logo() {
            Ok(logo) => logo.map(|(_, bytes)| bytes),
            Err(e) => {
                tracing::error!(error = %e, "the collectivité's logo cannot be read; papers are made without it");
                None
            }
        };
        Ok(Letterhead { identity, logo })
    }

    fn identity(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }

    /// The archives service's name, or `default` when it is not set.
    fn archives_or(&self, default: &str) -> String {
        self.identity()
            .map(|i| i.archives.name.as_str())
            .filter(|a| !a.is_empty())
            .unwrap_or(default)
            .to_owned()
    }

    /// Who gives the visas, or `default` when it is not set.
    fn authority_or(&self, default: &str) -> String {
        self.identity()
            .map(|i| i.archives.authority.as_str())
            .filter(|a| !a.is_empty())
            .unwrap_or(default)
            .to_owned()
    }

    /// The logo as an image carried by the page itself (a paper saved or
    /// printed keeps it), or nothing.
    fn logo_html(&self) -> String {
        let (Some(bytes), Some(logo)) = (&self.logo, self.identity().and_then(|i| i.logo.as_ref())) else {
            return String::new();
        };
        let name = self.identity().map(|i| i.name.as_str()).unwrap_or_default();
        format!(
            "<p><img src=\"data:{};base64,{}\" alt=\"Logo : {}\" style=\"max-height:2.5cm;max-width:6cm\"></p>\n",
            html(&logo.media_type),
            base64::engine::general_purpose::STANDARD.encode(bytes),
            html(name)
        )
    }
}

/// Escapes text for HTML (and the SVG the pages draw inside it).
pub(crate) fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Quotes a CSV field (RFC 4180); a leading `=`, `+`, `-` or `@` is
/// prefixed with `'` so that spreadsheets never run it as a formula.
fn csv(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    format!("\"{}\"", text.replace('"', "\"\""))
}

fn node_title(plan: &Plan, disposal_node: &crate::domain::record::NodeCode) -> String {
    plan.node(disposal_node).map(|n| n.title.clone()).unwrap_or_default()
}

/// The bordereau as CSV: one line per record, with its group's typology.
pub fn bordereau_csv(disposal: &Disposal, plan: &Plan) -> String {
    let mut out = String::from("disposal;node;typology;service;reference;date;rule;dua;due;bytes;sha256\r\n");
    for line in &disposal.proposal.lines {
        let shas: Vec<String> = line.versions.iter().map(|(s, _)| s.hex()).collect();
        let fields = [
            disposal.proposal.id.to_string(),
            line.node.to_string(),
            node_title(plan, &line.node),
            line.service.clone().unwrap_or_default(),
            line.reference.to_string(),
            line.date.to_string(),
            line.rule.clone(),
            line.duration.clone(),
            line.due.to_string(),
            line.size().to_string(),
            shas.join(" "),
        ];
        out.push_str(&fields.iter().map(|f| csv(f)).collect::<Vec<_>>().join(";"));
        out.push_str("\r\n");
    }
    out
}

/// The collectivité's logo and a paragraph naming it and its archives
/// service, at a paper's head (nothing when its identity is not set).
fn collectivite_html(head: &Letterhead) -> String {
    head.identity()
        .map(|i| {
            format!(
                "{}<p>Collectivité : {}.{}</p>\n",
                head.logo_html(),
                html(&i.heading()),
                if i.archives.name.is_empty() {
                    String::new()
                } else {
                    format!(" Service d'archives : {}.", html(&i.archives.name))
                }
            )
        })
        .unwrap_or_default()
}

/// The bordereau as an HTML page, to print and send for the visa: the
/// collectivité and its archives authority when its identity is set, the
/// lines by typology, and the two signature blocks.
pub fn bordereau_html(disposal: &Disposal, plan: &Plan, head: &Letterhead) -> String {
    let identity = head.identity();
    let groups = disposal.bordereau();
    let total: u64 = groups.iter().map(|g| g.count).sum();
    let bytes: u64 = groups.iter().map(|g| g.bytes).sum();
    let mut rows = String::new();
    for g in &groups {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{} — {}</td><td>{} à {}</td><td>{} ({})</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            html(
                &g.services
                    .iter()
                    .map(|s| identity.map_or(s.as_str(), |i| i.service_name(s)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            html(g.node.as_str()),
            html(&node_title(plan, &g.node)),
            g.from,
            g.to,
            html(&g.duration),
            html(&g.rule),
            g.count,
            g.bytes,
            html(&g.references.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")),
        ));
    }
    let visa = match &disposal.visa {
        Some(v) => format!(
            "<p>Visa des Archives : {} du {}, signé par {}.</p>",
            html(&v.reference),
            v.date,
            html(&v.signer)
        ),
        None => "<p>Visa des Archives : en attente.</p>".to_owned(),
    };
    let who = collectivite_html(head);
    let authority = head.authority_or("Le directeur des Archives");
    let signatures = format!(
        "<table class=\"signatures\" border=\"1\"><tr><th>Le chef du service producteur</th><th>Visa : {}</th></tr>\n\
         <tr><td>Date, nom et signature :<br><br><br><br></td><td>Date, nom et signature :<br><br><br><br></td></tr></table>\n",
        html(&authority)
    );
    let visa = format!("{who_placeholder}{visa}\n{signatures}", who_placeholder = "");
    format!(
        "<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Bordereau d'élimination n° {id}</title></head>\n<body>\n<h1>Bordereau d'élimination n° {id}</h1>\n{who}<p>Plan de classement : {plan_id} {plan_label}. Documents dont la DUA est échue au {at}{node}. Proposé le {proposed} par {by}.</p>\n<table border=\"1\">\n<thead><tr><th>Service producteur</th><th>Typologie</th><th>Dates extrêmes</th><th>DUA</th><th>Nombre</th><th>Volume (octets)</th><th>Références</th></tr></thead>\n<tbody>\n{rows}</tbody>\n<tfoot><tr><td colspan=\"4\">Total</td><td>{total}</td><td>{bytes}</td><td></td></tr></tfoot>\n</table>\n{visa}\n</body></html>\n",
        id = disposal.proposal.id,
        plan_id = html(&plan.header.id),
        plan_label = html(&plan.header.version),
        at = disposal.proposal.at,
        node = disposal
            .proposal
            .node
            .as_ref()
            .map(|n| format!(", nœud {}", html(n.as_str())))
            .unwrap_or_default(),
        proposed = format_time(&disposal.proposal.proposed_at),
        by = html(&disposal.proposal.proposed_by),
    )
}

/// The disposal certificate: what was destroyed (each content's sha256),
/// what was skipped and why, the visa, the journal events, and the hash of
/// the execution event, which the journal's chain binds to everything
/// before it. `None` before execution.
pub fn certificate(disposal: &Disposal) -> Option<Value> {
    let execution = disposal.execution.as_ref()?;
    let index = disposal.proposal.line_index();
    let line_of = |id| index.get(&id).copied();
    let destroyed: Vec<Value> = execution
        .outcomes
        .iter()
        .filter(|o| o.skipped.is_none())
        .filter_map(|o| line_of(o.record))
        .map(|l| {
            json!({
                "reference": l.reference.as_str(),
                "record": l.record.to_string(),
                "node": l.node.as_str(),
                "date": l.date.to_string(),
                "rule": l.rule,
                "dua": l.duration,
                "due": l.due.to_string(),
                "versions": l.versions.iter().map(|(s, size)| json!({"sha256": s.hex(), "size": size})).collect::<Vec<_>>(),
                "metadata_sha256": l.metadata.iter().map(|m| m.hex()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let skipped: Vec<Value> = execution
        .outcomes
        .iter()
        .filter_map(|o| {
            o.skipped
                .as_ref()
                .map(|why| json!({"reference": o.reference.as_str(), "reason": why}))
        })
        .collect();
    let struck: Vec<&str> = disposal
        .visa
        .as_ref()
        .map(|v| {
            v.struck
                .iter()
                .filter_map(|id| line_of(*id).map(|l| l.reference.as_str()))
                .collect()
        })
        .unwrap_or_default();
    Some(json!({
        "certificate": "certificat d'élimination",
        "disposal": disposal.proposal.id,
        "at": disposal.proposal.at.to_string(),
        "proposed": {"time": format_time(&disposal.proposal.proposed_at), "by": disposal.proposal.proposed_by, "seq": disposal.proposal.id},
        "visa": disposal.visa.as_ref().map(|v| json!({
            "reference": v.reference, "signer": v.signer, "date": v.date.to_string(),
            "recorded_by": v.recorded_by, "seq": v.seq,
        })),
        "struck": struck,
        "executed": {"time": format_time(&execution.at), "by": execution.by, "seq": execution.seq, "parts": execution.parts},
        "erased": {"blobs": execution.erased.len(), "seq": execution.erased_seq, "stores": execution.erased_from},
        "destroyed": destroyed,
        "skipped": skipped,
        "signature": {
            "method": "the journal's hash chain: the hash of the execution event (SHA-256 of its canonical encoding, see schemas/journal-event.schema.json), which binds every event before it",
            "seq": execution.seq,
            "hash": execution.hash.to_string(),
        },
    }))
}

/// The accusé de dépôt for people: what was deposited, when, by whom, and
/// how to check it (the proof itself is in the JSON form).
pub fn attestation_html(attestation: &crate::archive::seals::Attestation) -> String {
    let a = attestation;
    let row = |label: &str, value: &str| format!("<tr><th>{}</th><td>{}</td></tr>\n", html(label), html(value));
    let mut rows = String::new();
    rows.push_str(&row("Référence", &a.reference));
    rows.push_str(&row("Intitulé", &a.title));
    rows.push_str(&row("Nœud du plan de classement", &a.node));
    rows.push_str(&row("Version", &a.version.to_string()));
    rows.push_str(&row("Fichier déposé", a.filename.as_deref().unwrap_or("—")));
    rows.push_str(&row("Empreinte SHA-256", &a.sha256));
    rows.push_str(&row("Taille (octets)", &a.size.to_string()));
    rows.push_str(&row("Format", &a.media_type));
    rows.push_str(&row("Déposé le (UTC)", &format_time(&a.deposited_at)));
    rows.push_str(&row("Déposant", &a.depositor));
    rows.push_str(&row(
        "Événement du journal (seq)",
        &(a.event.leaf_index + 1).to_string(),
    ));
    rows.push_str(&row("Feuille de l'arbre de Merkle", &a.event.leaf_hash.hex()));
    rows.push_str(&row(
        "Scellement",
        &format!(
            "n° {} du {} : {} événements, racine {}",
            a.seal.seq,
            format_time(&a.seal.sealed_at),
            a.seal.tree_size,
            a.seal.root.hex()
        ),
    ));
    rows.push_str(&row("Clé publique Ed25519 du scellement", &a.seal.public_key));
    rows.push_str(&row("Signature", &a.seal.signature));
    rows.push_str(&row("Archive", &a.archive));
    if let Some(c) = &a.collectivite {
        rows.insert_str(0, &row("Collectivité", c));
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Accusé de dépôt {reference}</title>\
         <style>body{{font-family:sans-serif;margin:2em}}th{{text-align:left;padding-right:1em;vertical-align:top}}\
         td{{font-family:monospace;word-break:break-all}}</style></head><body>\n\
         <h1>Accusé de dépôt</h1>\n<p>Le document ci-dessous a été versé dans le système d'archivage électronique. \
         L'événement de dépôt est inscrit au journal chaîné, dont l'arbre de Merkle a été scellé et signé ; \
         la preuve d'inclusion (jointe à cette page sous forme JSON) permet à quiconque de le vérifier avec SHA-256 et la clé publique.</p>\n\
         <table>\n{rows}</table>\n\
         <script type=\"application/json\" id=\"{block}\">{json}</script>\n</body></html>\n",
        reference = html(&a.reference),
        block = crate::archive::seals::ATTESTATION_BLOCK_ID,
        // A data block, never run; `<` escaped so that no text in it can
        // close the element.
        json = serde_json::to_string(a).unwrap_or_default().replace('<', "\\u003c"),
    )
}

/// A paper laid out as lines of text on A4 pages, in the PDF standard
/// fonts (nothing embedded; every reader has them), as `pdftotext` and
/// people read it back.
struct Paper {
    /// Lines, each bold or not; an empty line is a gap.
    lines: Vec<(bool, String)>,
    /// The collectivité's logo, drawn at the head of the first page.
    logo: Option<crate::domain::logo::Pixels>,
}

/// Characters a 10-point Helvetica line holds across an A4 page's text
/// width, with a margin for wide letters.
const PAPER_LINE_CHARS: usize = 92;

impl Paper {
    /// A proposal's lines by typology (node, services, dates extrêmes, DUA
    /// in words, volume, references), the total, and what was left out.
    fn typologies(
        &mut self,
        proposal: &crate::domain::disposition::Proposal,
        plan: &Plan,
        identity: Option<&crate::domain::identity::Identity>,
    ) {
        use crate::french;
        let (mut total, mut bytes) = (0u64, 0u64);
        for g in proposal.groups() {
            total += g.count;
            bytes += g.bytes;
            self.gap();
            self.bold(format!("{} — {}", g.node, node_title(plan, &g.node)));
            let services: Vec<&str> = g
                .services
                .iter()
                .map(|s| identity.map_or(s.as_str(), |i| i.service_name(s)))
                .collect();
            if !services.is_empty() {
                self.text(format!("Service producteur : {}", services.join(", ")));
            }
            let duration = crate::domain::plan::RetentionDuration::parse(&g.duration)
                .map(|d| french::duration(&d))
                .unwrap_or_else(|_| g.duration.clone());
            self.text(format!(
                "Dates extrêmes : {} à {}. DUA : {duration} (règle {}). {}, {}.",
                french::date(g.from),
                french::date(g.to),
                g.rule,
                french::count(g.count, "document", "documents"),
                french::size(g.bytes)
            ));
            self.text(format!(
                "Références : {}",
                g.references.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        self.gap();
        self.bold(format!(
            "Total : {}, {}",
            french::count(total, "document", "documents"),
            french::size(bytes)
        ));
        if !proposal.excluded.is_empty() {
            self.gap();
            self.bold("Documents écartés");
            for e in &proposal.excluded {
                self.text(format!("{} : {}", e.reference, e.reason));
            }
        }
    }

    /// A signature block for each of `who`, with room to sign.
    fn signatures(&mut self, who: &[String]) {
        for (n, signer) in who.iter().enumerate() {
            self.gap();
            if n > 0 {
                self.gap();
            }
            self.bold(signer.clone());
            self.text("Date, nom et signature :");
        }
    }

    /// The collectivité and its archives service, as its identity names
    /// them, and its logo at the head of the first page (nothing when it
    /// is not set).
    fn collectivite(&mut self, head: &Letterhead) {
        self.logo = head
            .logo
            .as_deref()
            .and_then(|bytes| crate::domain::logo::pixels(bytes, LOGO_PIXELS).ok());
        if let Some(i) = head.identity() {
            self.text(format!("Collectivité : {}", i.heading()));
            if !i.archives.name.is_empty() {
                self.text(format!("Service d'archives : {}", i.archives.name));
            }
        }
    }

    fn new() -> Paper {
        Paper {
            lines: Vec::new(),
            logo: None,
        }
    }

    fn bold(&mut self, text: impl Into<String>) {
        self.lines.push((true, text.into()));
    }

    /// A paragraph, wrapped at word boundaries.
    fn text(&mut self, text: impl AsRef<str>) {
        let mut line = String::new();
        // Only at ordinary spaces: a no-break space holds a number to its unit.
        for word in text.as_ref().split_ascii_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > PAPER_LINE_CHARS {
                self.lines.push((false, std::mem::take(&mut line)));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        self.lines.push((false, line));
    }

    fn gap(&mut self) {
        self.lines.push((false, String::new()));
    }

    /// The PDF: A4 pages of 10-point Helvetica, bold lines in
    /// Helvetica-Bold, text in WinAnsi (what the standard fonts read;
    /// a character outside it shows as `?`), and the logo, if any, in a box
    /// at the top left of the first page, above the text.
    fn pdf(&self, title: &str) -> Vec<u8> {
        use pdf_writer::{Content, Filter, Name, Pdf, Rect, Ref, Str, TextStr};
        const PAGE_TOP: f32 = 812.0;
        const TOP: f32 = 800.0;
        const BOTTOM: f32 = 50.0;
        const LEADING: f32 = 14.0;
        const LOGO_BOX: (f32, f32) = (150.0, 60.0);
        // The logo's size on the page, its aspect kept.
        let logo_size = self.logo.as_ref().map(|px| {
            let scale = (LOGO_BOX.0 / px.width as f32).min(LOGO_BOX.1 / px.height as f32);
            (px.width as f32 * scale, px.height as f32 * scale)
        });
        let first_top = logo_size.map_or(TOP, |(_, h)| PAGE_TOP - h - 2.0 * LEADING);
        let per_page = (((TOP - BOTTOM) / LEADING) as usize).max(1);
        let first_page = (((first_top - BOTTOM) / LEADING) as usize).max(1);
        let mut pages: Vec<&[(bool, String)]> = vec![&self.lines[..first_page.min(self.lines.len())]];
        if self.lines.len() > first_page {
            pages.extend(self.lines[first_page..].chunks(per_page));
        }
        let mut pdf = Pdf::new();
        let catalog = Ref::new(1);
        let tree = Ref::new(2);
        let regular = Ref::new(3);
        let bold = Ref::new(4);
        let info = Ref::new(5);
        let first_id = 6;
        let page_ids: Vec<Ref> = (0..pages.len()).map(|i| Ref::new(first_id + 2 * i as i32)).collect();
        let image_id = Ref::new(first_id + 2 * pages.len() as i32);
        let mask_id = Ref::new(image_id.get() + 1);
        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree).kids(page_ids.iter().copied()).count(pages.len() as i32);
        pdf.document_info(info)
            .title(TextStr(title))
            .producer(TextStr("coffre"));
        for (font, name) in [(regular, "Helvetica"), (bold, "Helvetica-Bold")] {
            pdf.type1_font(font)
                .base_font(Name(name.as_bytes()))
                .encoding_predefined(Name(b"WinAnsiEncoding"));
        }
        if let Some(px) = &self.logo {
            // The colours, then the transparency as a soft mask.
            let mut image_of = |id: Ref, samples: &[u8], rgb: bool| {
                let data = deflated(samples);
                let mut image = pdf.image_xobject(id, &data);
                image.filter(Filter::FlateDecode);
                image.width(px.width as i32);
                image.height(px.height as i32);
                if rgb {
                    image.color_space().device_rgb();
                } else {
                    image.color_space().device_gray();
                }
                image.bits_per_component(8);
                if rgb && px.alpha.is_some() {
                    image.s_mask(mask_id);
                }
            };
            image_of(image_id, &px.rgb, true);
            if let Some(alpha) = &px.alpha {
                image_of(mask_id, alpha, false);
            }
        }
        // Character by character: encoding_rs writes what WinAnsi lacks as
        // an HTML reference (`&#8239;`), which a paper must not show. The
        // French narrow spaces become no-break spaces.
        let encode = |text: &str| -> Vec<u8> {
            let mut out = Vec::with_capacity(text.len());
            let mut buf = [0u8; 4];
            for c in text.chars() {
                let c = match c {
                    '\u{202f}' | '\u{2009}' | '\u{2007}' => '\u{a0}',
                    c => c,
                };
                let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(c.encode_utf8(&mut buf));
                if unmappable {
                    out.push(b'?');
                } else {
                    out.extend_from_slice(&bytes);
                }
            }
            out
        };
        for (i, lines) in pages.iter().enumerate() {
            let page_id = page_ids[i];
            let content_id = Ref::new(page_id.get() + 1);
            let logo_here = logo_size.filter(|_| i == 0);
            let mut page = pdf.page(page_id);
            page.media_box(Rect::new(0.0, 0.0, 595.0, 842.0));
            page.parent(tree);
            page.contents(content_id);
            let mut resources = page.resources();
            resources.fonts().pair(Name(b"F1"), regular).pair(Name(b"F2"), bold);
            if logo_here.is_some() {
                resources.x_objects().pair(Name(b"Logo"), image_id);
            }
            drop(resources);
            drop(page);
            let mut content = Content::new();
            if let Some((w, h)) = logo_here {
                content.save_state();
                content.transform([w, 0.0, 0.0, h, 40.0, PAGE_TOP - h]);
                content.x_object(Name(b"Logo"));
                content.restore_state();
            }
            content.begin_text();
            content.next_line(40.0, if i == 0 { first_top } else { TOP });
            for (is_bold, line) in lines.iter() {
                content.set_font(Name(if *is_bold { b"F2" } else { b"F1" }), 10.0);
                content.show(Str(&encode(line)));
                content.next_line(0.0, -LEADING);
            }
            content.end_text();
            pdf.stream(content_id, &content.finish());
        }
        pdf.finish()
    }
}

/// Bytes compressed for a PDF stream's `FlateDecode` (zlib).
fn deflated(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// The bordereau d'élimination as a PDF to print, sign and file: the
/// collectivité, the proposal, each typology with its dates extrêmes, DUA
/// in words, volume and references, what was left out and why, the visa
/// if given, and the two signature blocks.
pub fn bordereau_pdf(disposal: &Disposal, plan: &Plan, head: &Letterhead) -> Vec<u8> {
    let identity = head.identity();
    use crate::french;
    let mut p = Paper::new();
    let id = disposal.proposal.id;
    p.bold(format!("Bordereau d'élimination n° {id}"));
    p.gap();
    p.collectivite(head);
    p.text(format!(
        "Plan de classement : {} {}. Documents dont la durée d'utilité administrative est échue au {}{}.",
        plan.header.id,
        plan.header.version,
        french::date(disposal.proposal.at),
        disposal
            .proposal
            .node
            .as_ref()
            .map(|n| format!(", nœud {n}"))
            .unwrap_or_default()
    ));
    p.text(format!(
        "Proposé le {} par {}.",
        french::time(disposal.proposal.proposed_at),
        disposal.proposal.proposed_by
    ));
    p.typologies(&disposal.proposal, plan, identity);
    p.gap();
    match &disposal.visa {
        Some(v) => p.text(format!(
            "Visa des Archives : {} du {}, signé par {}.",
            v.reference,
            french::date(v.date),
            v.signer
        )),
        None => p.text("Visa des Archives : en attente."),
    }
    let authority = head.authority_or("Le directeur des Archives");
    p.signatures(&[
        "Le chef du service producteur".to_owned(),
        format!("Visa : {authority}"),
    ]);
    p.pdf(&format!("Bordereau d'élimination n° {id}"))
}

/// The certificat d'élimination as a PDF to file: the collectivité, the
/// visa, the execution, each record destroyed (reference, node, date, DUA,
/// contents' SHA-256), what was kept and why, the hash of the execution
/// event that the journal's chain binds, and the archives service's
/// signature block. `None` before execution.
pub fn certificate_pdf(disposal: &Disposal, plan: &Plan, head: &Letterhead) -> Option<Vec<u8>> {
    use crate::french;
    let execution = disposal.execution.as_ref()?;
    let id = disposal.proposal.id;
    let mut p = Paper::new();
    p.bold(format!("Certificat d'élimination n° {id}"));
    p.gap();
    p.collectivite(head);
    p.text(format!(
        "Élimination proposée le {} par {}, au titre du plan de classement {} {}.",
        french::time(disposal.proposal.proposed_at),
        disposal.proposal.proposed_by,
        plan.header.id,
        plan.header.version
    ));
    if let Some(v) = &disposal.visa {
        p.text(format!(
            "Visa des Archives : {} du {}, signé par {} (enregistré par {}).",
            v.reference,
            french::date(v.date),
            v.signer,
            v.recorded_by
        ));
    }
    p.text(format!(
        "Exécutée le {} par {} : le contenu des documents ci-dessous a été détruit ; seule leur trace demeure au journal.",
        french::time(execution.at),
        execution.by
    ));
    let index = disposal.proposal.line_index();
    let line_of = |record| index.get(&record).copied();
    let destroyed: Vec<_> = execution
        .outcomes
        .iter()
        .filter(|o| o.skipped.is_none())
        .filter_map(|o| line_of(o.record))
        .collect();
    p.gap();
    p.bold(format!(
        "Documents éliminés : {}, {}",
        french::count(destroyed.len() as u64, "document", "documents"),
        french::size(destroyed.iter().map(|l| l.size()).sum())
    ));
    for l in &destroyed {
        let duration = crate::domain::plan::RetentionDuration::parse(&l.duration)
            .map(|d| french::duration(&d))
            .unwrap_or_else(|_| l.duration.clone());
        p.text(format!(
            "{} — {} {} — du {}, DUA {duration} (règle {}), échue le {}",
            l.reference,
            l.node,
            node_title(plan, &l.node),
            french::date(l.date),
            l.rule,
            french::date(l.due)
        ));
        for (sha256, size) in &l.versions {
            p.text(format!("    contenu {} ({})", sha256.hex(), french::size(*size)));
        }
    }
    if !execution.erased_from.is_empty() {
        p.gap();
        p.text(format!(
            "Contenus effacés de chaque stockage de l'archive : {}.",
            execution.erased_from.join(", ")
        ));
    }
    let kept: Vec<_> = execution.outcomes.iter().filter(|o| o.skipped.is_some()).collect();
    if !kept.is_empty() {
        p.gap();
        p.bold("Documents conservés");
        for o in kept {
            p.text(format!(
                "{} : {}",
                o.reference,
                o.skipped.as_deref().unwrap_or_default()
            ));
        }
    }
    p.gap();
    p.text(format!(
        "Empreinte de l'événement d'exécution (journal n° {}) : {}. La chaîne du journal la lie à tout ce qui précède.",
        execution.seq, execution.hash
    ));
    let archives = head.archives_or("Le responsable du service d'archives");
    p.signatures(&[archives]);
    Some(p.pdf(&format!("Certificat d'élimination n° {id}")))
}

/// Executes an approved disposal, then files its certificate (PDF) as a
/// record when the plan has a node for it: what every face (API, pages,
/// command line) does. The execution stands even when filing fails (said
/// in the log, and the disposal shows no certificate record).
pub fn execute_disposal(
    archive: &crate::archive::Archive,
    actor: &crate::archive::Actor,
    id: u64,
) -> Result<Disposal, crate::archive::ArchiveError> {
    let executed = archive.execute_disposal(actor, id)?;
    let plan = archive.plan(actor, None)?;
    let head = Letterhead::of(archive)?;
    if let Some(pdf) = certificate_pdf(&executed, &plan.plan, &head)
        && let Err(e) = archive.file_disposal_certificate(actor, id, &pdf)
    {
        tracing::error!(disposal = id, error = %e, "the certificate of elimination could not be filed as a record");
    }
    archive.disposal(actor, id)
}

/// The bordereau de versement as a PDF to print, sign and send with the
/// package: the collectivité (service versant) and the archives service,
/// the records by typology with their dates extrêmes and DUA in words, what
/// was left out, the packages exported, the archives' acceptance once
/// recorded, and the two signature blocks.
pub fn transfer_bordereau_pdf(
    transfer: &crate::domain::disposition::Transfer,
    plan: &Plan,
    head: &Letterhead,
) -> Vec<u8> {
    let identity = head.identity();
    use crate::french;
    let id = transfer.proposal.id;
    let mut p = Paper::new();
    p.bold(format!("Bordereau de versement n° {id}"));
    p.gap();
    p.collectivite(head);
    p.text(format!(
        "Plan de classement : {} {}. Documents dont la durée d'utilité administrative est échue au {}, à conserver aux archives.",
        plan.header.id,
        plan.header.version,
        french::date(transfer.proposal.at)
    ));
    p.text(format!(
        "Proposé le {} par {}.",
        french::time(transfer.proposal.proposed_at),
        transfer.proposal.proposed_by
    ));
    p.typologies(&transfer.proposal, plan, identity);
    if !transfer.packages.is_empty() {
        p.gap();
        p.text(format!("Paquets SEDA 2.3 remis : {}.", transfer.packages.join(", ")));
    }
    if let Some(a) = &transfer.acknowledgement {
        p.text(format!(
            "Pris en charge par les archives sous la référence {} le {}.",
            a.reference,
            french::date(a.date)
        ));
    }
    let archives = head.archives_or("Le service d'archives");
    p.signatures(&[
        "Le chef du service versant".to_owned(),
        format!("Pour prise en charge : {archives}"),
    ]);
    p.pdf(&format!("Bordereau de versement n° {id}"))
}

/// The certificat d'élimination as an HTML page to print: what
/// [`certificate_pdf`] says, as a page. `None` before execution.
pub fn certificate_html(disposal: &Disposal, plan: &Plan, head: &Letterhead) -> Option<String> {
    use crate::french;
    let execution = disposal.execution.as_ref()?;
    let id = disposal.proposal.id;
    let index = disposal.proposal.line_index();
    let line_of = |record| index.get(&record).copied();
    let mut rows = String::new();
    for o in &execution.outcomes {
        let Some(l) = line_of(o.record) else { continue };
        let duration = crate::domain::plan::RetentionDuration::parse(&l.duration)
            .map(|d| french::duration(&d))
            .unwrap_or_else(|_| l.duration.clone());
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{} — {}</td><td>{}</td><td>{} (règle {})</td><td>{}</td><td>{}</td></tr>\n",
            html(l.reference.as_str()),
            html(l.node.as_str()),
            html(&node_title(plan, &l.node)),
            french::date(l.date),
            html(&duration),
            html(&l.rule),
            french::size(l.size()),
            html(&match &o.skipped {
                None => "éliminé".to_owned(),
                Some(why) => format!("conservé : {why}"),
            }),
        ));
    }
    let who = collectivite_html(head);
    let visa = disposal
        .visa
        .as_ref()
        .map(|v| {
            format!(
                "<p>Visa des Archives : {} du {}, signé par {}.</p>\n",
                html(&v.reference),
                french::date(v.date),
                html(&v.signer)
            )
        })
        .unwrap_or_default();
    let archives = head.archives_or("Le responsable du service d'archives");
    let stores = if execution.erased_from.is_empty() {
        String::new()
    } else {
        format!(
            "<p>Contenus effacés de chaque stockage de l'archive : {}.</p>\n",
            html(&execution.erased_from.join(", "))
        )
    };
    Some(format!(
        "<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Certificat d'élimination n° {id}</title></head>\n<body>\n<h1>Certificat d'élimination n° {id}</h1>\n{who}<p>Élimination proposée le {proposed} par {by}.</p>\n{visa}<p>Exécutée le {at} par {executor} : le contenu des documents éliminés a été détruit ; seule leur trace demeure au journal.</p>\n{stores}<table border=\"1\">\n<thead><tr><th>Référence</th><th>Typologie</th><th>Date</th><th>DUA</th><th>Volume</th><th>Sort</th></tr></thead>\n<tbody>\n{rows}</tbody>\n</table>\n<p>Empreinte de l'événement d'exécution (journal n° {seq}) : {hash}.</p>\n<table class=\"signatures\" border=\"1\"><tr><th>{archives}</th></tr>\n<tr><td>Date, nom et signature :<br><br><br><br></td></tr></table>\n</body></html>\n",
        proposed = french::time(disposal.proposal.proposed_at),
        by = html(&disposal.proposal.proposed_by),
        at = french::time(execution.at),
        executor = html(&execution.by),
        seq = execution.seq,
        hash = execution.hash,
        archives = html(&archives),
    ))
}

/// The payment chain's indicators as CSV (UTF-8 with its mark, `;`
/// between fields, decimal commas, as French spreadsheets read them): the
/// whole, then a line per month, per service and per supplier.
pub fn payment_indicators_csv(indicators: &crate::domain::indicators::PaymentIndicators) -> String {
    use crate::domain::indicators::DelayStats;
    let mut out = String::from(
        "\u{feff}regroupement;clé;paiements;délai moyen (jours);délai médian (jours);90e centile (jours);délai maximal (jours);\
         payés au-delà du délai;part au-delà du délai (%);ordonnateur au-delà de 20 jours;comptable au-delà de 10 jours;\
         intérêts moratoires (€);indemnités forfaitaires (€)\r\n",
    );
    let mut line = |group: &str, key: &str, s: &DelayStats| {
        let fields = [
            group.to_owned(),
            key.to_owned(),
            s.count.to_string(),
            crate::french::tenths(s.mean_days),
            crate::french::tenths(s.median_days),
            s.p90_days.to_string(),
            s.max_days.to_string(),
            s.late.to_string(),
            crate::french::tenths(s.late_share),
            s.ordonnateur_late.to_string(),
            s.comptable_late.to_string(),
            crate::french::decimal_text(s.interest_cents).replace('.', ","),
            crate::french::decimal_text(s.indemnity_cents).replace('.', ","),
        ];
        out.push_str(&fields.iter().map(|f| csv(f)).collect::<Vec<_>>().join(";"));
        out.push_str("\r\n");
    };
    line("ensemble", "", &indicators.overall);
    for (month, stats) in &indicators.by_month {
        line("mois", month, stats);
    }
    for (service, stats) in &indicators.by_service {
        line("service", service.as_deref().unwrap_or("(aucun)"), stats);
    }
    for (supplier, stats) in &indicators.by_supplier {
        line("fournisseur", supplier.as_deref().unwrap_or("(aucun)"), stats);
    }
    out
}

/// Indicators as CSV in long form (UTF-8 with its mark, `;` between
/// fields, decimal commas), one figure a line: the table it belongs to,
/// the key of its line (a month, a node, a field and supplier…), what it
/// measures, its value. Any indicator's JSON answer is written so, the
/// names said in French.
pub fn indicators_csv(answer: &serde_json::Value) -> String {
    let mut out = String::from("\u{feff}tableau;clé;mesure;valeur\r\n");
    let mut row = |table: &str, key: &str, measure: &str, value: String| {
        let fields = [table, key, measure, value.as_str()];
        out.push_str(&fields.iter().map(|f| csv(f)).collect::<Vec<_>>().join(";"));
        out.push_str("\r\n");
    };
    flatten_figures(answer, "ensemble", "", &mut row);
    out
}

/// Writes each figure of `value` as a row: numbers under `table` and
/// `key`, arrays of objects as one key per item (their text fields),
/// objects as tables of their own.
fn flatten_figures(value: &serde_json::Value, table: &str, key: &str, row: &mut dyn FnMut(&str, &str, &str, String)) {
    use serde_json::Value;
    let Value::Object(map) = value else {
        return;
    };
    for (name, field) in map {
        match field {
            Value::Number(n) => {
                let text = match (n.as_u64(), n.as_i64()) {
                    (Some(u), _) => u.to_string(),
                    (None, Some(i)) => i.to_string(),
                    _ => crate::french::tenths(n.as_f64().unwrap_or(0.0)),
                };
                row(table, key, &crate::french::measure(name), text);
            }
            Value::Object(_) => flatten_figures(field, &crate::french::measure(name), key, row),
            Value::Array(items) => {
                let table = crate::french::measure(name);
                for item in items {
                    let Value::Object(fields) = item else {
                        continue;
                    };
                    let key: Vec<&str> = fields.values().filter_map(Value::as_str).collect();
                    let key = if key.is_empty() {
                        "(aucun)".to_owned()
                    } else {
                        key.join(" / ")
                    };
                    flatten_figures(item, &table, &key, row);
                }
            }
            _ => {}
        }
    }
}

/// The daily summary of a person's work list, as a plain-text mail in
/// French: its subject and its body, the overdue items first, each with
/// its link on `base_url`; `None` when nothing waits.
pub fn worklist_summary(
    display_name: &str,
    list: &crate::archive::circuits::WorkList,
    today: chrono::NaiveDate,
    base_url: &str,
) -> Option<(String, String)> {
    if list.total == 0 {
        return None;
    }
    let base = base_url.trim_end_matches('/');
    let documents = crate::french::count(list.total, "document", "documents");
    let late = match list.overdue {
        0 => String::new(),
        n => format!(", dont {} en retard", crate::french::group_thousands(&n.to_string())),
    };
    let subject = format!("coffre : {documents} à traiter{late}");
    let mut body = format!(
        "Bonjour {display_name},\n\nVoici ce qui vous attend dans coffre le {} : {documents}{late}.\n",
        crate::french::date(today)
    );
    let item = |w: &crate::archive::circuits::WorkItem| {
        let r = &w.record;
        format!(
            "- {} — {} : étape « {} » depuis le {}, {}\n  {base}/documents/{}\n",
            r.reference,
            r.title,
            w.view.step.title,
            crate::french::date(w.view.since),
            crate::french::days_left(w.view.days_left),
            url_encode_path(r.reference.as_str())
        )
    };
    let (overdue, others): (Vec<_>, Vec<_>) = list.items.iter().partition(|w| w.view.days_left.is_some_and(|d| d < 0));
    for (title, items) in [("En retard", overdue), ("À traiter", others)] {
        if !items.is_empty() {
            body.push_str(&format!("\n{title}\n\n"));
            for w in items {
                body.push_str(&item(w));
            }
        }
    }
    if list.items.len() < list.total {
        body.push_str(&format!(
            "\n… et {} de plus.\n",
            crate::french::count(list.total - list.items.len(), "autre", "autres")
        ));
    }
    body.push_str(&format!(
        "\nVotre liste complète : {base}/a-traiter\n\n-- \nCe message part chaque matin où des documents vous attendent. \
         Pour ne plus le recevoir, effacez votre adresse sur la page « Mon compte » : {base}/mon-compte\n"
    ));
    Some((subject, body))
}

/// A reference as a URL path segment (references are letters, digits and
/// `-`, but a plan may allow more).
fn url_encode_path(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
