//! The command line as a client of a running server: where it goes
//! (`--server`, `COFFRE_URL`, or the server that holds the data directory),
//! with which token (`COFFRE_TOKEN`, the one `coffre login` stored, or the
//! running server's operator token for whoever owns the data directory),
//! and the HTTP calls, with the server's errors turned back into the same
//! codes and exit codes as the direct way.

use super::Failure;
use crate::errors::Code;
use serde::de::DeserializeOwned;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a call may wait for the server (uploads and downloads stream,
/// so this bounds silence, not size).
const TIMEOUT: Duration = Duration::from_secs(300);

/// A running server, and how to speak to it.
pub struct Remote {
    base: String,
    token: String,
    /// Set with the operator token: the system user the journal names.
    operator: Option<String>,
    agent: ureq::Agent,
}

/// An answer to read as it comes, and its `x-coffre-*` headers by
/// lowercase name.
pub type Download = (std::collections::BTreeMap<String, String>, Box<dyn Read>);

/// A file sent as the `file` part of a deposit.
pub struct FilePart<'a> {
    /// Its name, as the archive keeps it.
    pub filename: &'a str,
    /// Its bytes.
    pub reader: Box<dyn Read + Send + 'a>,
}

impl Remote {
    /// A client of the server at `base` with `token`.
    pub fn new(base: &str, token: String, operator: Option<String>) -> Remote {
        Remote {
            base: base.trim_end_matches('/').to_owned(),
            token,
            operator,
            agent: ureq::AgentBuilder::new()
                .timeout_read(TIMEOUT)
                .timeout_write(TIMEOUT)
                .build(),
        }
    }

    /// Whether it speaks with the data directory owner's operator token
    /// (rather than a person's).
    pub fn is_operator(&self) -> bool {
        self.operator.is_some()
    }

    fn request(&self, method: &str, path: &str) -> ureq::Request {
        let mut req = self
            .agent
            .request(method, &format!("{}{path}", self.base))
            .set("Authorization", &format!("Bearer {}", self.token));
        if let Some(user) = &self.operator {
            req = req.set("X-Coffre-Operator", user);
        }
        req
    }

    /// GET, answered as JSON.
    pub fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, Failure> {
        decode(self.request("GET", path).call(), &self.base)
    }

    /// POST of a JSON body, answered as JSON.
    pub fn post_json<T: DeserializeOwned>(&self, path: &str, body: &serde_json::Value) -> Result<T, Failure> {
        self.request_json("POST", path, body)
    }

    /// A JSON body sent with `method`, answered as JSON.
    pub fn request_json<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, Failure> {
        decode(
            self.request(method, path)
                .set("Content-Type", "application/json")
                .send_string(&body.to_string()),
            &self.base,
        )
    }

    /// POST of an XML document, answered as JSON.
    pub fn post_xml<T: DeserializeOwned>(&self, path: &str, body: &[u8]) -> Result<T, Failure> {
        self.send_bytes("POST", path, "application/xml", body)
    }

    /// A body of `content_type` sent with `method`, answered as JSON.
    pub fn send_bytes<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> Result<T, Failure> {
        decode(
            self.request(method, path)
                .set("Content-Type", content_type)
                .send_bytes(body),
            &self.base,
        )
    }

    /// A JSON body sent with `method`, the answer's body dropped (for 204s).
    pub fn send_json(&self, method: &str, path: &str, body: &serde_json::Value) -> Result<(), Failure> {
        answer(
            self.request(method, path)
                .set("Content-Type", "application/json")
                .send_string(&body.to_string()),
            &self.base,
        )
        .map(drop)
    }

    /// POST of a JSON body, answered with a body to read as it comes (a
    /// package) and the answer's `x-coffre-*` headers, by lowercase name.
    pub fn post_for_download(&self, path: &str, body: &serde_json::Value) -> Result<Download, Failure> {
        let response = answer(
            self.request("POST", path)
                .set("Content-Type", "application/json")
                .send_string(&body.to_string()),
            &self.base,
        )?;
        let headers = response
            .headers_names()
            .into_iter()
            .filter(|n| n.to_ascii_lowercase().starts_with("x-coffre-"))
            .filter_map(|n| response.header(&n).map(|v| (n.to_ascii_lowercase(), v.to_owned())))
            .collect();
        Ok((headers, Box::new(response.into_reader())))
    }

    /// PUT of a text body, answered as JSON.
    pub fn put_text<T: DeserializeOwned>(&self, path: &str, content_type: &str, body: &str) -> Result<T, Failure> {
        decode(
            self.request("PUT", path)
                .set("Content-Type", content_type)
                .send_string(body),
            &self.base,
        )
    }

    /// GET, the answer's body to read as it comes.
    pub fn open(&self, path: &str) -> Result<Box<dyn Read>, Failure> {
        Ok(Box::new(
            answer(self.request("GET", path).call(), &self.base)?.into_reader(),
        ))
    }

    /// POST of a multipart deposit (`metadata` JSON, then the file,
    /// streamed), answered as JSON.
    pub fn post_deposit<T: DeserializeOwned>(
        &self,
        path: &str,
        metadata: &serde_json::Value,
        file: FilePart<'_>,
    ) -> Result<T, Failure> {
        self.post_multipart(
            path,
            &[("metadata", "application/json", metadata.to_string())],
            "file",
            file,
        )
    }

    /// POST of a multipart form: small text parts (name, type, text), then
    /// a file streamed as the part `file_part`; answered as JSON.
    pub fn post_multipart<T: DeserializeOwned>(
        &self,
        path: &str,
        texts: &[(&str, &str, String)],
        file_part: &str,
        file: FilePart<'_>,
    ) -> Result<T, Failure> {
        let mut parts: Vec<Part<'_>> = texts
            .iter()
            .map(|(name, content_type, text)| Part::Text {
                name,
                content_type,
                text: text.clone(),
            })
            .collect();
        parts.push(Part::File { name: file_part, file });
        self.post_parts(path, parts)
    }

    /// POST of a multipart form of `parts` in their order, the files
    /// streamed; answered as JSON.
    pub fn post_parts<T: DeserializeOwned>(&self, path: &str, parts: Vec<Part<'_>>) -> Result<T, Failure> {
        let mut boundary = [0u8; 16];
        getrandom::fill(&mut boundary).map_err(|e| Failure::internal(format!("random source: {e}")))?;
        let boundary = format!("coffre-{}", hex::encode(boundary));
        let mut body: Box<dyn Read + Send + '_> = Box::new(std::io::empty());
        for part in parts {
            body = match part {
                Part::Text {
                    name,
                    content_type,
                    text,
                } => Box::new(body.chain(std::io::Cursor::new(
                    format!(
                        "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n{text}\r\n"
                    )
                    .into_bytes(),
                ))),
                Part::File { name, file } => {
                    let quoted = file.filename.replace(['"', '\r', '\n'], "_");
                    let head = format!(
                        "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{quoted}\"; filename*=UTF-8''{}\r\n\
                         Content-Type: application/octet-stream\r\n\r\n",
                        percent_encode(file.filename)
                    );
                    Box::new(
                        body.chain(std::io::Cursor::new(head.into_bytes()))
                            .chain(file.reader)
                            .chain(std::io::Cursor::new(b"\r\n".to_vec())),
                    )
                }
            };
        }
        let body = body.chain(std::io::Cursor::new(format!("--{boundary}--\r\n").into_bytes()));
        decode(
            self.request("POST", path)
                .set("Content-Type", &format!("multipart/form-data; boundary={boundary}"))
                .send(body),
            &self.base,
        )
    }
}

/// A part of a multipart form.
pub enum Part<'a> {
    /// A small text part (JSON, TOML) with its media type.
    Text {
        name: &'a str,
        content_type: &'a str,
        text: String,
    },
    /// A file, streamed.
    File { name: &'a str, file: FilePart<'a> },
}

/// A reference or id as one segment of a path.
pub fn path_segment(text: &str) -> String {
    percent_encode(text.trim())
}

/// RFC 5987 encoding of a file name.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The answer, or the failure it says (the server's stable code, hence the
/// same exit code as the direct way), or that the server could not be
/// reached.
fn answer(result: Result<ureq::Response, ureq::Error>, base: &str) -> Result<ureq::Response, Failure> {
    match result {
        Ok(response) => Ok(response),
        Err(ureq::Error::Status(status, response)) => {
            let body: serde_json::Value = serde_json::from_reader(response.into_reader()).unwrap_or_default();
            let error = &body["error"];
            let code = error["code"].as_str().and_then(Code::parse).unwrap_or(Code::Internal);
            let message = error["message"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("le serveur a répondu {status}"));
            Err(Failure::new(code, message).with_answer(body))
        }
        Err(e) => Err(Failure::new(
            Code::Unavailable,
            format!("le serveur {base} ne répond pas : {e}"),
        )),
    }
}

fn decode<T: DeserializeOwned>(result: Result<ureq::Response, ureq::Error>, base: &str) -> Result<T, Failure> {
    serde_json::from_reader(answer(result, base)?.into_reader())
        .map_err(|e| Failure::internal(format!("la réponse du serveur {base} n'est pas celle attendue : {e}")))
}

/// The tokens `coffre login` stored, by server: `logins.json` in the
/// user's configuration folder (`$XDG_CONFIG_HOME/coffre`, or
/// `~/.config/coffre`), readable by the user only.
pub struct Logins {
    path: PathBuf,
}

impl Logins {
    /// The user's stored logins.
    pub fn of_user() -> Result<Logins, Failure> {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))
            .ok_or_else(|| Failure::usage("ni XDG_CONFIG_HOME ni HOME ne disent où ranger la connexion"))?;
        Ok(Logins {
            path: base.join("coffre").join("logins.json"),
        })
    }

    fn read(&self) -> serde_json::Map<String, serde_json::Value> {
        std::fs::read(&self.path)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default()
    }

    /// The token stored for `server`.
    pub fn token(&self, server: &str) -> Option<String> {
        self.read()
            .get(server.trim_end_matches('/'))
            .and_then(|entry| entry["token"].as_str())
            .map(str::to_owned)
    }

    /// Stores `token` (of `user`) for `server`, replacing the file whole.
    pub fn store(&self, server: &str, user: &str, token: &str) -> Result<(), Failure> {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let mut all = self.read();
        all.insert(
            server.trim_end_matches('/').to_owned(),
            serde_json::json!({"user": user, "token": token}),
        );
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let fail = |e: std::io::Error| Failure::internal(format!("{} : {e}", self.path.display()));
        std::fs::create_dir_all(dir).map_err(fail)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(fail)?;
        let staged = self.path.with_extension("json.new");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&staged)
            .map_err(fail)?;
        let text = serde_json::to_vec_pretty(&serde_json::Value::Object(all))
            .map_err(|e| Failure::internal(format!("encoding the logins: {e}")))?;
        file.write_all(&text).and_then(|()| file.sync_all()).map_err(fail)?;
        std::fs::rename(&staged, &self.path).map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_encoded_for_the_multipart_header() {
        assert_eq!(percent_encode("facture été.pdf"), "facture%20%C3%A9t%C3%A9.pdf");
    }
}
