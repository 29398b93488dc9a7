//! The mail server port over IMAP (RFC 3501, with MOVE where the server
//! has it): the `imap` crate speaks the protocol, over a TCP stream with
//! time limits, in TLS from the first byte (rustls, the stack the other
//! clients share) or in clear.

use super::mail::{MailError, MailServerAddress, MailSession, Taken};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

/// How long connecting, and then each read or write, may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A connection in clear or in TLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// A folder's name as IMAP carries it (modified UTF-7).
fn wire(folder: &str) -> String {
    utf7_imap::encode_utf7_imap(folder.to_owned())
}

fn failed(what: &str, e: impl std::fmt::Display) -> MailError {
    MailError(format!("{what} : {e}"))
}

/// An IMAP session, signed in.
pub struct ImapSession {
    session: imap::Session<Stream>,
    /// The server moves messages itself (RFC 6851).
    moves: bool,
    /// Folders known to exist.
    made: std::collections::HashSet<String>,
}

impl ImapSession {
    /// Connects to the server and signs in.
    pub fn open(address: &MailServerAddress) -> Result<Self, MailError> {
        let place = format!("{}:{}", address.host, address.port);
        let socket = place
            .to_socket_addrs()
            .map_err(|e| failed(&place, e))?
            .next()
            .ok_or_else(|| MailError(format!("{place} : adresse introuvable")))?;
        let tcp = TcpStream::connect_timeout(&socket, TIMEOUT).map_err(|e| failed(&place, e))?;
        tcp.set_read_timeout(Some(TIMEOUT)).map_err(|e| failed(&place, e))?;
        tcp.set_write_timeout(Some(TIMEOUT)).map_err(|e| failed(&place, e))?;
        let stream = if address.tls {
            let config = super::tls::client_config(address.ca_file.as_deref()).map_err(|e| failed("certificats", e))?;
            let name =
                rustls_pki_types::ServerName::try_from(address.host.clone()).map_err(|e| failed(&address.host, e))?;
            let connection = rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| failed(&place, e))?;
            Stream::Tls(Box::new(rustls::StreamOwned::new(connection, tcp)))
        } else {
            Stream::Plain(tcp)
        };
        let mut client = imap::Client::new(stream);
        client.read_greeting().map_err(|e| failed(&place, e))?;
        let mut session = client
            .login(&address.user, &address.password)
            .map_err(|(e, _)| failed(&format!("connexion de {}", address.user), e))?;
        let moves = session
            .capabilities()
            .map(|c| c.has_str("MOVE"))
            .map_err(|e| failed(&place, e))?;
        Ok(ImapSession {
            session,
            moves,
            made: Default::default(),
        })
    }

    /// Makes `folder` unless it exists.
    fn ensure(&mut self, folder: &str) -> Result<(), MailError> {
        if self.made.contains(folder) {
            return Ok(());
        }
        // The pattern goes out as written: quoted here (folder names hold
        // no quote, backslash or wildcard).
        let exists = !self
            .session
            .list(None, Some(&format!("\"{}\"", wire(folder))))
            .map_err(|e| failed(folder, e))?
            .is_empty();
        if !exists {
            self.session.create(wire(folder)).map_err(|e| failed(folder, e))?;
        }
        self.made.insert(folder.to_owned());
        Ok(())
    }
}

impl Drop for ImapSession {
    fn drop(&mut self) {
        let _ = self.session.logout();
    }
}

impl MailSession for ImapSession {
    fn messages(&mut self, folder: &str) -> Result<Vec<u32>, MailError> {
        self.session.select(wire(folder)).map_err(|e| failed(folder, e))?;
        let mut ids: Vec<u32> = self
            .session
            .uid_search("ALL")
            .map_err(|e| failed(folder, e))?
            .into_iter()
            .collect();
        ids.sort_unstable();
        Ok(ids)
    }

    fn take(&mut self, id: u32, max: u64) -> Result<Taken, MailError> {
        let sizes = self
            .session
            .uid_fetch(id.to_string(), "RFC822.SIZE")
            .map_err(|e| failed("taille", e))?;
        let Some(size) = sizes.iter().find(|f| f.uid == Some(id)).and_then(|f| f.size) else {
            return Ok(Taken::Gone);
        };
        if u64::from(size) > max {
            let headers = self
                .session
                .uid_fetch(id.to_string(), "BODY.PEEK[HEADER]")
                .map_err(|e| failed("en-tête", e))?;
            let header = headers
                .iter()
                .find(|f| f.uid == Some(id))
                .and_then(|f| f.header())
                .map(<[u8]>::to_vec)
                .unwrap_or_default();
            return Ok(Taken::TooLarge {
                size: u64::from(size),
                header,
            });
        }
        let bodies = self
            .session
            .uid_fetch(id.to_string(), "BODY.PEEK[]")
            .map_err(|e| failed("message", e))?;
        Ok(match bodies.iter().find(|f| f.uid == Some(id)).and_then(|f| f.body()) {
            Some(body) => Taken::Message(body.to_vec()),
            None => Taken::Gone,
        })
    }

    fn put_away(&mut self, id: u32, folder: &str) -> Result<(), MailError> {
        self.ensure(folder)?;
        let set = id.to_string();
        if self.moves {
            return self.session.uid_mv(&set, wire(folder)).map_err(|e| failed(folder, e));
        }
        self.session
            .uid_copy(&set, wire(folder))
            .map_err(|e| failed(folder, e))?;
        self.session
            .uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
            .map_err(|e| failed(folder, e))?;
        self.session.uid_expunge(&set).map_err(|e| failed(folder, e))?;
        Ok(())
    }

    fn note(&mut self, folder: &str, message: &[u8]) -> Result<(), MailError> {
        self.ensure(folder)?;
        let name = wire(folder);
        self.session
            .append(&name, message)
            .finish()
            .map(|_| ())
            .map_err(|e| failed(folder, e))
    }
}
