//! The JSON body of a request: a JSON object, read whole up to a limit,
//! under the slow-client rules of `pacing`, into the handler's type.
//!
//! Unlike actix's own extractor, a body that is an array is refused (serde
//! would read `[null, null]` as a struct's fields in order), and every
//! failure is an [`ApiError`] of the one table.

use super::error::ApiError;
use crate::errors::Code;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

/// The most bytes a JSON body may hold.
pub const JSON_MAX: usize = 1024 * 1024;

/// A request body that is one JSON object, read as `T`.
pub struct JsonObject<T>(pub T);

impl<T> JsonObject<T> {
    /// The value read.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for JsonObject<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Whether a `Content-Type` names JSON (`application/json`, or a
/// `+json` type).
fn is_json(req: &HttpRequest) -> bool {
    let Some(value) = req.headers().get(actix_web::http::header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(text) = value.to_str() else {
        return false;
    };
    let essence = text.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Why bytes are not the JSON object asked for.
pub enum NotAnObject {
    /// Not an object at all (an array, a number, nothing).
    Shape,
    /// An object whose members do not fit.
    Members(serde_json::Error),
}

/// Reads `bytes` as one JSON object of type `T`; `None` when they hold
/// nothing or `null`. White space is JSON's own (RFC 8259).
pub fn object_or_null<T: DeserializeOwned>(bytes: &[u8]) -> Result<Option<T>, NotAnObject> {
    let blank = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let from = bytes.iter().position(|b| !blank(b)).unwrap_or(bytes.len());
    let to = bytes.iter().rposition(|b| !blank(b)).map_or(from, |i| i + 1);
    let text = &bytes[from..to];
    if text.is_empty() || text == b"null" {
        return Ok(None);
    }
    if !text.starts_with(b"{") {
        return Err(NotAnObject::Shape);
    }
    serde_json::from_slice(text).map(Some).map_err(NotAnObject::Members)
}

/// A request body that is not the JSON object asked for.
fn refused(not: NotAnObject) -> ApiError {
    let why = match not {
        NotAnObject::Shape => "a JSON object ({…}) is expected".to_owned(),
        NotAnObject::Members(e) => format!("Json deserialize error: {e}"),
    };
    ApiError::new(
        Code::InvalidJson,
        format!("the request body is not the expected JSON: {why}"),
    )
}

/// Reads an optional request body: `None` when there is none (or `null`),
/// else one JSON object of type `T`.
pub fn optional_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<Option<T>, ApiError> {
    object_or_null(bytes).map_err(refused)
}

/// Reads `bytes` as one JSON object of type `T`.
pub fn object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    optional_object(bytes)?.ok_or_else(|| refused(NotAnObject::Shape))
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonObject<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let body = web::Payload::from_request(req, payload);
        Box::pin(async move {
            if !json {
                return Err(ApiError::new(
                    Code::InvalidJson,
                    "the request body is not the expected JSON: Content type error",
                ));
            }
            let body = body
                .await
                .map_err(|e| ApiError::new(Code::InvalidJson, format!("the request body cannot be read: {e}")))?;
            let bytes = super::read_body(body, JSON_MAX, "a JSON body").await?;
            object(&bytes).map(JsonObject)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Pair {
        a: Option<u32>,
        b: Option<u32>,
    }

    #[test]
    fn an_object_is_read_and_an_array_is_refused() {
        assert!(object::<Pair>(br#" {"a": 1}"#).is_ok());
        for refused in [&b"[null, null]"[..], b"[1, 2]", b"null", b"\x00", b"", b"3"] {
            let e = object::<Pair>(refused).expect_err("refused");
            assert_eq!(e.code(), "invalid_json", "{refused:?}");
        }
    }
}
