//! How flows are read, on real PES material (tests/data/pes/, from S²LOW's
//! tests) and the mapping shipped with coffre: the reading is
//! `extract::pes`'s, the mapping `policies::mappings`'s; both meet here.

use crate::domain::pes::{Part, PartKind, PesMapping};
use crate::extract::pes::{Limits, split};
use crate::policies::mappings::{DEFAULT_PES_MAPPING, load_pes_mapping};
use base64::Engine as _;

const ALLER: &[u8] = include_bytes!("../../tests/data/pes/pes_aller.xml");
const SIGNED: &[u8] = include_bytes!("../../tests/data/pes/signature_bordereau.xml");
const ACQUIT: &[u8] = include_bytes!("../../tests/data/pes/pes_acquit.xml");

fn mapping() -> PesMapping {
    load_pes_mapping(DEFAULT_PES_MAPPING).expect("the shipped mapping")
}

fn limits() -> Limits {
    Limits { file_max: 1 << 20 }
}

fn field<'a>(part: &'a Part, name: &str) -> Option<&'a str> {
    part.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

#[test]
fn a_real_flow_splits_into_its_bordereau_and_its_mandat() {
    let flow = split(ALLER, Some("pes_aller.xml"), &mapping(), limits()).expect("a flow");
    let kinds: Vec<PartKind> = flow.parts.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, [PartKind::Flow, PartKind::ExpenseSlip, PartKind::Mandate]);
    let (whole, slip, mandate) = (&flow.parts[0], &flow.parts[1], &flow.parts[2]);
    assert_eq!(whole.content, ALLER, "the flow is kept as received");
    assert_eq!(whole.date.as_deref(), Some("2015-06-16"));
    assert_eq!(field(whole, "nom_fichier"), Some("03f432a4f6d35110bf309fb525eb61f7"));
    assert_eq!(field(whole, "siret_collectivite"), Some("12345678912345"));
    assert_eq!(field(slip, "numero_bordereau"), Some("1093357910"));
    assert_eq!(field(slip, "exercice"), Some("2009"));
    assert_eq!(field(slip, "montant_ht"), Some("75724.75"));
    assert_eq!(field(slip, "code_budget"), Some("01"), "read through `..`");
    assert_eq!(slip.date.as_deref(), Some("2009-07-16"));
    assert_eq!(slip.title, "Bordereau de mandats n° 1093357910 – exercice 2009");
    assert_eq!((slip.parent, slip.link), (Some(0), "part_of"));
    assert_eq!(mandate.title, "Mandat n° 832 – TEST HOMOLOGATION");
    assert_eq!(field(mandate, "tiers"), Some("PAIERIE DEPART. HERAULT"));
    assert_eq!(field(mandate, "nature"), Some("6553"));
    assert_eq!(field(mandate, "fonction"), Some("113"));
    assert_eq!(field(mandate, "montant_ht"), Some("39724.75"));
    assert_eq!(mandate.date.as_deref(), Some("2009-07-16"));
    assert_eq!((mandate.parent, mandate.link), (Some(1), "part_of"));
    let piece = String::from_utf8(mandate.content.clone()).expect("ASCII");
    assert!(
        piece.starts_with("<?xml version=\"1.0\" encoding=\"windows-1252\"?>\n<Piece>"),
        "{piece}"
    );
    assert!(piece.contains("<IdPce V=\"832\"/>"));
}

#[test]
fn a_signed_bordereau_gives_its_pieces_their_payment_delay_and_finds_its_signature() {
    let flow = split(SIGNED, None, &mapping(), limits()).expect("a flow");
    let slip = &flow.parts[1];
    let signature = slip.signature.as_ref().expect("a signature");
    assert_eq!(signature.id.as_deref(), Some("ID20157020150506D0150_SIG_1"));
    assert_eq!(signature.position, 1);
    assert_eq!(signature.method, "http://www.w3.org/2000/09/xmldsig#rsa-sha1");
    assert_eq!(signature.signed_at.as_deref(), Some("2015-11-25T16:15:19Z"));
    assert_eq!(
        signature.policy,
        Some((
            "urn:oid:1.2.250.1.131.1.5.18.21.1.4".into(),
            "Politique de signature Helios de la DGFiP".into()
        ))
    );
    assert_eq!(signature.role.as_deref(), Some("Parapheur du Maire"));
    assert_eq!(
        signature.certificate_digest,
        Some((
            "http://www.w3.org/2000/09/xmldsig#sha1".into(),
            "Szt6ben5dLhpuRFbrXoWKkNHxps=".into()
        ))
    );
    assert_eq!(
        signature.certificate.as_ref().map(Vec::len),
        Some(1162),
        "the DER certificate"
    );
    let mandates: Vec<&Part> = flow.parts.iter().filter(|p| p.kind == PartKind::Mandate).collect();
    assert_eq!(mandates.len(), 5);
    let first = mandates[0];
    assert_eq!(field(first, "siret"), Some("18800850200018"));
    assert_eq!(field(first, "iban"), Some("FR7618025002000810341132292"));
    assert_eq!(field(first, "dgp_debut"), Some("2015-04-14"));
    assert_eq!(field(first, "dgp_fin"), Some("2015-05-14"));
    assert_eq!(field(first, "dgp_duree"), Some("30"));
    assert_eq!(flow.parts[0].filename, "PESALR121190800075020150506191259422.xml");
}

#[test]
fn an_acknowledgement_names_its_flow_and_its_state() {
    let read = split(ACQUIT, None, &mapping(), limits()).expect("an acknowledgement");
    let state = read.acknowledgement.expect("a state");
    assert_eq!(state.flow_name, "03f432a4f6d35110bf309fb525eb61f7");
    assert!(state.accepted);
    assert_eq!(field(&read.parts[0], "etat"), Some("accepté"));
    let rejected = String::from_utf8_lossy(ACQUIT).replacen(
        "<EtatAck V=\"1\"/>",
        "<EtatAck V=\"0\"/><Erreur><NumAnoAck V=\"ERREUR_SIRET\"/><LibelleAnoAck V=\"SIRET inconnu\"/></Erreur>",
        1,
    );
    let read = split(rejected.as_bytes(), None, &mapping(), limits()).expect("an acknowledgement");
    assert!(!read.acknowledgement.as_ref().expect("a state").accepted);
    assert_eq!(field(&read.parts[0], "etat"), Some("rejeté"));
    assert_eq!(field(&read.parts[0], "motif"), Some("ERREUR_SIRET : SIRET inconnu"));
}

#[test]
fn pieces_justificatives_are_decoded_and_linked_to_the_piece_naming_them() {
    use std::io::Write as _;
    let pdf = b"%PDF-1.4 facture 2024-117 du fournisseur".to_vec();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&pdf).expect("gzip");
    let encoded = base64::engine::general_purpose::STANDARD.encode(gz.finish().expect("gzip"));
    let flow = String::from_utf8_lossy(ALLER)
        .replace(
            "<Obj V=\"TEST HOMOLOGATION\"/>",
            "<Obj V=\"TEST HOMOLOGATION\"/><PJRef><Support V=\"01\"/><IdUnique V=\"PJ-832-1\"/></PJRef>",
        )
        .replace(
            "</EnTetePES_PJ>",
            &format!(
                "</EnTetePES_PJ><PJ><Contenu><Fichier MIMEType=\"application/pdf\">{encoded}</Fichier></Contenu>\
                 <IdUnique V=\"PJ-832-1\"/><NomPJ V=\"facture-117.pdf\"/><Description V=\"Facture 117\"/></PJ>\
                 <PJ><Contenu><Fichier MIMEType=\"text/plain\">{}</Fichier></Contenu>\
                 <IdUnique V=\"PJ-LIBRE\"/><NomPJ V=\"note.txt\"/><Description V=\"Note\"/></PJ>",
                base64::engine::general_purpose::STANDARD.encode("une note sans pièce")
            ),
        );
    let parts = split(flow.as_bytes(), None, &mapping(), limits()).expect("a flow");
    let vouchers: Vec<&Part> = parts.parts.iter().filter(|p| p.kind == PartKind::Voucher).collect();
    assert_eq!(vouchers.len(), 2);
    assert_eq!(vouchers[0].content, pdf, "gunzipped");
    assert_eq!(vouchers[0].filename, "facture-117.pdf");
    assert_eq!(vouchers[0].title, "Facture 117 (facture-117.pdf)");
    assert_eq!((vouchers[0].parent, vouchers[0].link), (Some(2), "supports"));
    assert_eq!(vouchers[0].date.as_deref(), Some("2009-07-16"), "the mandat's date");
    assert_eq!(
        vouchers[1].content,
        "une note sans pièce".as_bytes(),
        "not gzipped: as is"
    );
    assert_eq!((vouchers[1].parent, vouchers[1].link), (Some(0), "part_of"));
    let bomb = flow.replace(&encoded, "!!!");
    let e = split(bomb.as_bytes(), None, &mapping(), limits()).expect_err("not base64");
    assert!(e.0.contains("PJ-832-1 ne se décode pas"), "{e}");
}

#[test]
fn what_is_not_a_flow_is_told_why() {
    for (bytes, said) in [
        (&b"<facture/>"[..], "l'élément racine est « facture »"),
        (b"pas du XML", "pas du XML lisible"),
        (
            b"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\">]><PES_Aller>&a;</PES_Aller>",
            "pas du XML lisible",
        ),
        (
            b"<?xml version=\"1.0\" encoding=\"klingon\"?><PES_Aller/>",
            "« klingon »",
        ),
        (b"<PES_ACQUIT/>", "ne nomme pas le flux"),
    ] {
        let e = split(bytes, None, &mapping(), limits()).expect_err("refused");
        assert!(e.0.contains(said), "{e}");
    }
}

proptest::proptest! {
    #[test]
    fn any_bytes_are_split_or_refused_never_a_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
        let _ = split(&bytes, None, &mapping(), limits());
    }

    #[test]
    fn any_flow_text_around_a_real_one_is_split_or_refused(cut in 0usize..3101, junk in ".{0,40}") {
        let text = String::from_utf8_lossy(ALLER).into_owned();
        let cut = (0..=cut.min(text.len())).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        let changed = format!("{}{junk}{}", &text[..cut], &text[cut..]);
        let _ = split(changed.as_bytes(), None, &mapping(), limits());
    }
}
