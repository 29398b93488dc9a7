//! How the command line behaves where people put it: in a pipe that closes
//! early (`coffre audit log | head`), and with its log written to a file.

use crate::common::*;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

/// Output into a pipe whose reader has gone ends the command quietly (as
/// `yes | head` does), never with a panic and exit 101.
#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let Fresh { tmp: _tmp, data, .. } = fresh_archive();
    for args in [&["audit", "log"][..], &["audit", "log", "--json"], &["plan", "show"]] {
        let mut child = Command::new(bin())
            .arg("--data")
            .arg(&data)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn coffre");
        // The reader goes before the first line is written.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let said = stderr(&out);
        assert!(!said.contains("panicked"), "{args:?}: {said}");
        assert_ne!(out.status.code(), Some(101), "{args:?}: {said}");
        assert!(
            out.status.success() || out.status.signal() == Some(13),
            "{args:?}: {:?} {said}",
            out.status
        );
    }
}

/// A server's log written to a file carries no terminal colour codes.
#[test]
fn a_log_written_to_a_file_has_no_colour_codes() {
    let Fresh { tmp: _tmp, data, .. } = fresh_archive();
    let server = Server::start(&data, &[]);
    let answer = get(&server.url("/healthz"), "");
    assert_eq!(answer.status, 200);
    let log = std::fs::read_to_string(&server.log).expect("the server's log");
    assert!(log.contains("serving") || log.contains("starting"), "{log}");
    assert!(!log.contains('\u{1b}'), "colour codes in the log: {log:?}");
}

/// `serve` says at start which extractor is missing and what it costs;
/// with every tool present (as `make deps` leaves the machine), nothing.
#[test]
fn serve_says_which_extractor_is_missing_and_what_it_costs() {
    use std::io::{BufRead, BufReader};
    let Fresh { tmp, data, .. } = fresh_archive();
    let empty = tmp.path().join("no-tools");
    std::fs::create_dir_all(&empty).unwrap();
    let log_path = tmp.path().join("serve.log");
    let mut child = Command::new(bin())
        .arg("--data")
        .arg(&data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("PATH", &empty)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .expect("spawn coffre serve");
    let out = child.stdout.take().unwrap();
    let started = BufReader::new(out)
        .lines()
        .map_while(Result::ok)
        .any(|l| l.starts_with("coffre : en service sur "));
    let _ = child.kill();
    let _ = child.wait();
    assert!(started, "{}", std::fs::read_to_string(&log_path).unwrap_or_default());
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains("pdftotext est absent (paquet Debian poppler-utils) : le texte des PDF n'est pas extrait"),
        "{log}"
    );
    // The server that every other test starts has its tools.
    let server = Server::start(&data, &[]);
    assert_eq!(get(&server.url("/healthz"), "").status, 200);
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(!log.contains("est absent"), "{log}");
}

/// A command line that does not parse is refused with exit 2 and one line
/// in French saying what and where the help is; `--help` still prints the
/// help, with exit 0.
#[test]
fn a_mistyped_command_line_is_refused_on_one_french_line() {
    let out = Command::new(bin())
        .args(["ingest", "--jbos", "4", "piece.pdf"])
        .output()
        .expect("run coffre");
    let said = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert_eq!(said.trim().lines().count(), 1, "{said}");
    assert!(
        said.starts_with("coffre : erreur : l'option « --jbos » n'existe pas"),
        "{said}"
    );
    assert!(
        said.contains("« --jobs »") && said.contains("coffre ingest --help"),
        "{said}"
    );
    let help = Command::new(bin())
        .args(["ingest", "--help"])
        .output()
        .expect("run coffre");
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("--jobs"));
}
