//! A command line that does not parse, told in French on one line: what is
//! wrong, the likely intended spelling when clap has one, and where the
//! help is. Help and version requests are printed as clap writes them.

use super::Failure;
use clap::error::{ContextKind, ContextValue, Error, ErrorKind};

/// One value of an error's context, as text (`None` when absent).
fn context(e: &Error, kind: ContextKind) -> Option<String> {
    match e.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(list) => Some(list.join(", ")),
        ContextValue::StyledStr(s) => Some(s.to_string()),
        ContextValue::StyledStrs(list) => Some(list.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
        ContextValue::Number(n) => Some(n.to_string()),
        ContextValue::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// « x », the French way of quoting what was typed.
fn quoted(text: &str) -> String {
    format!("« {text} »")
}

/// What a value parser expected, in French, from its (English) reason.
fn expected(reason: &str) -> Option<String> {
    if let Some((_, range)) = reason.split_once(" is not in ") {
        let (low, high) = range.split_once("..=")?;
        return Some(format!("un nombre de {low} à {high}"));
    }
    if reason.contains("invalid digit") || reason.contains("cannot parse integer") {
        return Some("un nombre entier".to_owned());
    }
    if reason.contains("too large") || reason.contains("too small") {
        return Some("un nombre moins grand".to_owned());
    }
    None
}

/// Where the help of the command typed is (`coffre ingest --help`): the
/// subcommands named in `args`, walked down from `command`.
fn help_of(command: &clap::Command, args: &[String]) -> String {
    let mut names = vec![command.get_name().to_owned()];
    let mut current = command;
    for arg in args.iter().skip(1).filter(|a| !a.starts_with('-')) {
        if let Some(sub) = current.find_subcommand(arg) {
            names.push(sub.get_name().to_owned());
            current = sub;
        }
    }
    format!("{} --help", names.join(" "))
}

/// What is wrong with the command line, in French, on one line.
pub fn french_message(e: &Error, command: &clap::Command, args: &[String]) -> String {
    let arg = context(e, ContextKind::InvalidArg);
    let value = context(e, ContextKind::InvalidValue);
    let on = |what: &str| match &arg {
        Some(a) => format!("{what} pour {}", quoted(a)),
        None => what.to_owned(),
    };
    let mut message = match e.kind() {
        ErrorKind::UnknownArgument => format!(
            "l'option {} n'existe pas pour cette commande",
            quoted(arg.as_deref().unwrap_or("?"))
        ),
        ErrorKind::InvalidSubcommand => format!(
            "la commande {} n'existe pas",
            quoted(context(e, ContextKind::InvalidSubcommand).as_deref().unwrap_or("?"))
        ),
        ErrorKind::InvalidValue => match &value {
            Some(v) if v.is_empty() => on("une valeur est attendue"),
            Some(v) => {
                let mut m = on(&format!("la valeur {} ne convient pas", quoted(v)));
                if let Some(valid) = context(e, ContextKind::ValidValue) {
                    m.push_str(&format!(" (valeurs possibles : {valid})"));
                }
                m
            }
            None => on("valeur invalide"),
        },
        ErrorKind::ValueValidation => {
            let mut m = on(&format!(
                "la valeur {} ne convient pas",
                quoted(value.as_deref().unwrap_or(""))
            ));
            if let Some(why) = std::error::Error::source(e)
                .map(ToString::to_string)
                .as_deref()
                .and_then(expected)
            {
                m.push_str(&format!(" (attendu : {why})"));
            }
            m
        }
        ErrorKind::MissingRequiredArgument => format!(
            "il manque {}",
            arg.as_deref()
                .map_or_else(|| "un argument obligatoire".to_owned(), quoted)
        ),
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            "il manque la commande à lancer".to_owned()
        }
        ErrorKind::ArgumentConflict => match context(e, ContextKind::PriorArg) {
            Some(prior) => format!(
                "{} ne va pas avec {}",
                quoted(arg.as_deref().unwrap_or("?")),
                quoted(&prior)
            ),
            None => on("option en conflit avec une autre"),
        },
        ErrorKind::TooManyValues => on(&format!("valeur en trop : {}", quoted(value.as_deref().unwrap_or("?")))),
        ErrorKind::TooFewValues | ErrorKind::WrongNumberOfValues => on("nombre de valeurs incorrect"),
        ErrorKind::NoEquals => on("la valeur s'écrit après un signe égal (--option=valeur)"),
        ErrorKind::InvalidUtf8 => "un argument n'est pas du texte UTF-8".to_owned(),
        _ => "ligne de commande incomprise".to_owned(),
    };
    let suggested = [
        ContextKind::SuggestedArg,
        ContextKind::SuggestedSubcommand,
        ContextKind::SuggestedValue,
    ]
    .into_iter()
    .find_map(|kind| match e.get(kind)? {
        ContextValue::String(s) => Some(vec![s.clone()]),
        ContextValue::Strings(list) if !list.is_empty() => Some(list.clone()),
        _ => None,
    });
    if let Some(suggested) = suggested {
        let spelled: Vec<String> = suggested.iter().map(|s| quoted(s)).collect();
        message.push_str(&format!(" ; vouliez-vous dire {} ?", spelled.join(" ou ")));
    }
    message.push_str(&format!(" (voir {})", help_of(command, args)));
    message
}

/// Parses the command line; bad usage is a [`Failure::usage`] saying why
/// in French (the error table gives its exit code). Help and version are
/// printed as asked, and the process ends there with exit 0.
pub fn parse<P: clap::Parser + clap::CommandFactory>() -> Result<P, Failure> {
    let args: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
    P::try_parse().map_err(|e| match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => e.exit(),
        _ => Failure::usage(french_message(&e, &P::command(), &args)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn refused(args: &[&str]) -> String {
        let e = super::super::Cli::try_parse_from(args).expect_err("refused");
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        french_message(&e, &<super::super::Cli as clap::CommandFactory>::command(), &args)
    }

    #[test]
    fn usage_errors_are_told_in_french_with_the_intended_spelling() {
        let m = refused(&["coffre", "ingest", "--jbos", "4", "x"]);
        assert!(m.starts_with("l'option « --jbos » n'existe pas"), "{m}");
        assert!(m.contains("vouliez-vous dire « --jobs » ?"), "{m}");
        let m = refused(&["coffre", "ingset"]);
        assert!(m.starts_with("la commande « ingset » n'existe pas"), "{m}");
        assert!(m.contains("« ingest »"), "{m}");
        let m = refused(&["coffre", "ingest", "--jobs", "beaucoup", "x"]);
        assert!(m.contains("« beaucoup » ne convient pas pour « --jobs <JOBS> »"), "{m}");
        assert!(m.contains("(attendu : un nombre entier)"), "{m}");
        let m = refused(&["coffre", "ingest", "--jobs", "0", "x"]);
        assert!(m.contains("(attendu : un nombre de 1 à 256)"), "{m}");
        assert!(m.ends_with("(voir coffre ingest --help)"), "{m}");
        let m = refused(&["coffre", "ingest"]);
        assert!(m.starts_with("il manque « <PATHS>... »"), "{m}");
        for m in [m, refused(&["coffre"])] {
            assert!(!m.contains("error") && !m.contains("unexpected"), "{m}");
            assert!(m.ends_with("--help)"), "{m}");
        }
    }
}
