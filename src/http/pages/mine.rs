//! "Mes dépôts": the person's recent deposits and where each stands: its
//! text read or not, how it was classified, whether search finds it yet.

use super::{Frame, PageError, Signed, french, html};
use crate::archive::Archive;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::web::{self, Data};
use askama::Template;

/// How many deposits the page lists.
const SHOWN: usize = 100;

/// A deposit as the page lists it.
pub struct DepositView {
    reference: String,
    title: String,
    node: String,
    deposited: String,
    classified: String,
    text: String,
    searchable: bool,
}

#[derive(Template)]
#[template(path = "mine.html")]
struct MinePage {
    frame: Frame,
    deposits: Vec<DepositView>,
}

/// The page.
pub async fn page(signed: Signed, archive: Data<Archive>) -> Result<HttpResponse, PageError> {
    let actor = signed.actor.clone();
    let (found, plan) = web::block(move || {
        let found = archive.my_deposits(&actor, SHOWN)?;
        let plan = archive.plan(&actor, None)?;
        Ok::<_, crate::archive::ArchiveError>((found, plan))
    })
    .await??;
    let deposits = found
        .into_iter()
        .map(|(record, text)| DepositView {
            reference: record.reference.to_string(),
            title: record.title.clone(),
            node: plan
                .plan
                .node(&record.node)
                .map(|n| format!("{} ({})", n.title, record.node))
                .unwrap_or_else(|| record.node.to_string()),
            deposited: french::time(record.created_at),
            classified: match &record.classified_by {
                Some(rule) => format!("automatiquement (règle « {rule} »)"),
                None => "par le déposant".into(),
            },
            searchable: text.is_some(),
            text: match &text {
                None => "en attente".into(),
                Some(status) => match &status.error {
                    Some(why) => format!("non lu : {why}"),
                    None => format!("lu ({} caractères)", status.chars),
                },
            },
        })
        .collect();
    let page = MinePage {
        frame: signed.frame("Mes dépôts", "mine"),
        deposits,
    };
    Ok(html(StatusCode::OK, &page))
}
