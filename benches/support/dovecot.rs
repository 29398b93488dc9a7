//! Debian's dovecot, started on loopback for the tests and benchmarks
//! that read mailboxes: its own configuration, one account, its mail
//! under a temporary folder; and a mail client's view of it (deliver,
//! list what a folder holds).

#![allow(dead_code)] // each user takes what it needs

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A dovecot of the caller's own, killed when dropped.
pub struct Dovecot {
    child: Child,
    /// IMAP in clear.
    pub port: u16,
    /// IMAP in TLS from the first byte, when started with a certificate.
    pub tls_port: Option<u16>,
    /// Its folder: configuration, log, mail, certificate.
    pub dir: tempfile::TempDir,
    user: String,
    password: String,
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Dovecot {
    /// Starts dovecot in the foreground on a free loopback port, with one
    /// account whose mail is kept under its folder. `certify`, when given,
    /// writes `server.pem` and `server.key` into that folder: dovecot then
    /// also listens in TLS.
    pub fn start(user: &str, password: &str, certify: Option<&dyn Fn(&Path)>) -> Dovecot {
        let binary = Path::new("/usr/sbin/dovecot");
        assert!(
            binary.exists(),
            "/usr/sbin/dovecot is missing: `make deps` installs Debian's dovecot-imapd for these tests"
        );
        let dir = tempfile::tempdir().expect("a folder");
        let at = dir.path();
        for sub in ["run", "state", "home"] {
            std::fs::create_dir(at.join(sub)).expect("a folder");
        }
        // Run as root (CI), the mail belongs to the package's own account;
        // otherwise, to whoever runs the test.
        let root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout == b"0\n")
            .unwrap_or(false);
        let (mail_user, extra) = if root {
            let chown = Command::new("chown")
                .args(["dovecot:dovecot", &at.join("home").display().to_string()])
                .status()
                .expect("chown");
            assert!(chown.success());
            ("uid=dovecot gid=dovecot".to_owned(), String::new())
        } else {
            let me = String::from_utf8_lossy(&Command::new("id").arg("-un").output().expect("id").stdout)
                .trim()
                .to_owned();
            (
                format!("uid={me} gid={me}"),
                format!(
                    "default_internal_user = {me}\ndefault_internal_group = {me}\ndefault_login_user = {me}\n\
                     service anvil {{\n  chroot =\n}}\nservice imap-login {{\n  chroot =\n}}\n"
                ),
            )
        };
        let free_port = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port()
        };
        let port = free_port();
        let (ssl, tls_port, tls_listener) = match certify {
            Some(certify) => {
                certify(at);
                let tls_port = free_port();
                (
                    format!(
                        "ssl = yes\nssl_cert = <{0}/server.pem\nssl_key = <{0}/server.key\n",
                        at.display()
                    ),
                    Some(tls_port),
                    format!(
                        "  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {tls_port}\n    ssl = yes\n  }}\n"
                    ),
                )
            }
            None => (
                "ssl = no\n".to_owned(),
                None,
                "  inet_listener imaps {\n    port = 0\n  }\n".to_owned(),
            ),
        };
        let conf = format!(
            "base_dir = {at}/run\nstate_dir = {at}/state\nlog_path = {at}/dovecot.log\n\
             protocols = imap\nlisten = 127.0.0.1\n{ssl}disable_plaintext_auth = no\n\
             auth_mechanisms = plain login\nfirst_valid_uid = 1\nmail_location = maildir:~/Maildir\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {at}/users\n}}\n\
             userdb {{\n  driver = static\n  args = {mail_user} home={at}/home/%u\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n{tls_listener}}}\n\
             service pop3-login {{\n  inet_listener pop3 {{\n    port = 0\n  }}\n}}\n\
             service submission-login {{\n  inet_listener submission {{\n    port = 0\n  }}\n}}\n\
             {extra}",
            at = at.display()
        );
        std::fs::write(at.join("dovecot.conf"), conf).expect("dovecot.conf");
        std::fs::write(at.join("users"), format!("{user}:{{PLAIN}}{password}\n")).expect("users");
        let child = Command::new(binary)
            .arg("-F")
            .arg("-c")
            .arg(at.join("dovecot.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn dovecot");
        let dovecot = Dovecot {
            child,
            port,
            tls_port,
            dir,
            user: user.to_owned(),
            password: password.to_owned(),
        };
        let started = Instant::now();
        let listening = |port: u16| TcpStream::connect(("127.0.0.1", port)).is_ok();
        while !listening(port) || tls_port.is_some_and(|p| !listening(p)) {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "dovecot did not listen: {}",
                std::fs::read_to_string(dovecot.dir.path().join("dovecot.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        dovecot
    }

    /// A session on the account, as a mail client has.
    pub fn session(&self) -> imap::Session<TcpStream> {
        let mut client = imap::Client::new(TcpStream::connect(("127.0.0.1", self.port)).expect("connect"));
        client.read_greeting().expect("greeting");
        client
            .login(&self.user, &self.password)
            .map_err(|(e, _)| e)
            .expect("login")
    }

    /// Puts a message in the inbox, as delivery would.
    pub fn deliver(&self, message: &[u8]) {
        let mut session = self.session();
        session.append("INBOX", message).finish().expect("append");
        let _ = session.logout();
    }

    /// The subjects of the messages in `folder` (none if it is not there).
    pub fn subjects(&self, folder: &str) -> Vec<String> {
        let mut session = self.session();
        if session.select(wire(folder)).is_err() {
            return Vec::new();
        }
        let mut subjects: Vec<String> = session
            .fetch("1:*", "BODY.PEEK[]")
            .map(|fetches| {
                fetches
                    .iter()
                    .filter_map(|f| f.body())
                    .filter_map(|body| mail_parser::MessageParser::default().parse(body))
                    .map(|m| m.subject().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        let _ = session.logout();
        subjects.sort();
        subjects
    }

    /// How many messages `folder` holds.
    pub fn count(&self, folder: &str) -> u32 {
        let mut session = self.session();
        let n = session.select(wire(folder)).map(|m| m.exists).unwrap_or(0);
        let _ = session.logout();
        n
    }

    /// The body text of the messages in `folder`.
    pub fn texts(&self, folder: &str) -> Vec<String> {
        let mut session = self.session();
        session.select(wire(folder)).expect("select");
        let texts = session
            .fetch("1:*", "BODY.PEEK[]")
            .expect("fetch")
            .iter()
            .filter_map(|f| f.body())
            .filter_map(|body| mail_parser::MessageParser::default().parse(body))
            .filter_map(|m| m.body_text(0).map(|t| t.into_owned()))
            .collect();
        let _ = session.logout();
        texts
    }
}

/// A folder's name as IMAP carries it (modified UTF-7).
pub fn wire(folder: &str) -> String {
    utf7_imap::encode_utf7_imap(folder.to_owned())
}
