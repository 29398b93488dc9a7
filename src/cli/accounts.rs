//! `coffre account …`: people's accounts, from the command line that holds
//! the data directory (an admin's rights). Passwords are read at the
//! terminal without echo, or from standard input with `--password-stdin`
//! (for scripts), never from an argument (which `ps` would show).

use super::client::{Remote, path_segment};
use super::{Context, Failure, Target, print_json};
use crate::archive::{AccountChanges, Actor, NewAccount};
use crate::domain::role::Role;
use crate::wire::AccountDto;
use clap::Subcommand;
use std::io::BufRead;

/// `coffre account` subcommands.
#[derive(Subcommand, Debug)]
pub enum AccountCommand {
    /// Open an account; asks its first password (or reads it with --password-stdin).
    Create {
        /// The user name (lowercase letters, digits, `.`, `-`, `_`).
        user: String,
        /// admin, archivist, auditor or agent.
        #[arg(long)]
        role: String,
        /// The name shown to people ("Marie Dupont").
        #[arg(long = "display-name")]
        display_name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Open it without a password (set one later with `account password`).
        #[arg(long, conflicts_with = "password_stdin")]
        no_password: bool,
    },
    /// Set an account's password (asked at the terminal, or read with --password-stdin).
    Password {
        /// The user name.
        user: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable an account: it can no longer sign in, and its tokens stop working.
    Disable {
        /// The user name.
        user: String,
    },
    /// Enable a disabled account again.
    Enable {
        /// The user name.
        user: String,
    },
    /// Change an account's role.
    Role {
        /// The user name.
        user: String,
        /// admin, archivist, auditor or agent.
        role: String,
    },
    /// List the accounts.
    List {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

/// `coffre login` arguments.
#[derive(clap::Args, Debug)]
pub struct LoginArgs {
    /// The server's address, `http://archives.example:8080`.
    pub url: String,
    /// The user name (asked when not given).
    #[arg(long)]
    pub user: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

/// Signs in to a server and stores the token it gives.
pub fn login(args: LoginArgs) -> Result<(), Failure> {
    let url = args.url.trim().trim_end_matches('/').to_owned();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(Failure::usage(format!(
            "« {url} » n'est pas l'adresse d'un serveur : écrivez-la comme http://archives.example:8080"
        )));
    }
    let user = match args.user {
        Some(user) => user,
        None if args.password_stdin => {
            return Err(Failure::usage(
                "avec --password-stdin, donnez l'identifiant avec --user",
            ));
        }
        None => {
            eprint!("Identifiant : ");
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| Failure::usage(format!("lecture de l'identifiant : {e}")))?;
            line.trim().to_owned()
        }
    };
    let password = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Failure::usage(format!("lecture du mot de passe sur l'entrée standard : {e}")))?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        rpassword::prompt_password("Mot de passe : ").map_err(|e| {
            Failure::usage(format!(
                "le mot de passe se saisit au terminal (ou avec --password-stdin) : {e}"
            ))
        })?
    };
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let name = format!("coffre login ({})", host.trim());
    let remote = super::client::Remote::new(&url, String::new(), None);
    let answer: crate::wire::TokenDto = remote.post_json(
        "/api/v1/login",
        &serde_json::json!({"user": user, "password": password, "name": name.trim()}),
    )?;
    super::client::Logins::of_user()?.store(&url, &answer.name, &answer.token)?;
    println!("connecté à {url} en tant que {} ({})", answer.name, answer.role);
    Ok(())
}

fn role_of(text: &str) -> Result<Role, Failure> {
    Role::parse(text).ok_or_else(|| {
        Failure::usage(format!(
            "« {text} » n'est pas un rôle ; les rôles sont admin, archivist, auditor, agent"
        ))
    })
}

/// Reads a new password: from standard input's first line, or twice at
/// the terminal.
fn new_password(from_stdin: bool) -> Result<String, Failure> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Failure::usage(format!("lecture du mot de passe sur l'entrée standard : {e}")))?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    let ask = |prompt: &str| {
        rpassword::prompt_password(prompt).map_err(|e| {
            Failure::usage(format!(
                "le mot de passe se saisit au terminal (ou avec --password-stdin) : {e}"
            ))
        })
    };
    let first = ask("Nouveau mot de passe : ")?;
    if ask("Le même, une seconde fois : ")? != first {
        return Err(Failure::usage("les deux saisies du mot de passe diffèrent"));
    }
    Ok(first)
}

/// Prints accounts, a line each, or JSON.
fn print_accounts(accounts: &[AccountDto], json: bool) -> Result<(), Failure> {
    for dto in accounts {
        if json {
            print_json(dto)?;
        } else {
            println!(
                "{}\t{}\t{}\t{}",
                dto.user,
                dto.role,
                dto.display_name,
                if dto.disabled { "désactivé" } else { "actif" }
            );
        }
    }
    Ok(())
}

/// An `account` subcommand through the server.
fn run_remote(remote: &Remote, command: AccountCommand) -> Result<(), Failure> {
    let user_path = |user: &str| format!("/api/v1/accounts/{}", path_segment(&user.trim().to_lowercase()));
    let changed = |user: &str, body: serde_json::Value, done: &str| -> Result<(), Failure> {
        let account: AccountDto = remote.request_json("PATCH", &user_path(user), &body)?;
        println!("compte {} {done} ({})", account.user, account.role);
        Ok(())
    };
    match command {
        command @ AccountCommand::Create { .. } => {
            let new = new_account(command)?;
            let account: AccountDto = remote.post_json(
                "/api/v1/accounts",
                &serde_json::json!({"user": new.user, "display_name": new.display_name,
                    "role": new.role.as_str(), "password": new.password}),
            )?;
            println!("compte {} ouvert ({})", account.user, account.role);
            Ok(())
        }
        AccountCommand::Password { user, password_stdin } => {
            let accounts: Vec<AccountDto> = remote.get_json("/api/v1/accounts")?;
            let wanted = user.trim().to_lowercase();
            if !accounts.iter().any(|a| a.user == wanted) {
                return Err(crate::archive::ArchiveError::AccountNotFound(wanted).into());
            }
            let password = new_password(password_stdin)?;
            remote.send_json(
                "POST",
                &format!("{}/password", user_path(&user)),
                &serde_json::json!({"password": password}),
            )?;
            println!("mot de passe de {wanted} enregistré");
            Ok(())
        }
        AccountCommand::Disable { user } => changed(&user, serde_json::json!({"disabled": true}), "désactivé"),
        AccountCommand::Enable { user } => changed(&user, serde_json::json!({"disabled": false}), "réactivé"),
        AccountCommand::Role { user, role } => {
            let role = role_of(&role)?;
            changed(&user, serde_json::json!({"role": role.as_str()}), "modifié")
        }
        AccountCommand::List { json } => {
            let accounts: Vec<AccountDto> = remote.get_json("/api/v1/accounts")?;
            print_accounts(&accounts, json)
        }
    }
}

/// What `account create` asks for, with the password read.
fn new_account(command: AccountCommand) -> Result<NewAccount, Failure> {
    let AccountCommand::Create {
        user,
        role,
        display_name,
        password_stdin,
        no_password,
    } = command
    else {
        return Err(Failure::internal("not an account creation"));
    };
    let role = role_of(&role)?;
    let password = if no_password {
        None
    } else {
        Some(new_password(password_stdin)?)
    };
    Ok(NewAccount {
        user,
        display_name,
        role,
        password,
    })
}

/// Runs an `account` subcommand, on the data directory or through the server.
pub fn run(ctx: &Context, command: AccountCommand) -> Result<(), Failure> {
    let actor = Actor::command_line();
    let archive = match ctx.target()? {
        Target::Local(archive) => archive,
        Target::Remote(remote) => return run_remote(&remote, command),
    };
    match command {
        command @ AccountCommand::Create { .. } => {
            let new = new_account(command)?;
            let account = archive.create_account(&actor, new)?;
            archive.flush()?;
            println!("compte {} ouvert ({})", account.user, account.role);
            Ok(())
        }
        AccountCommand::Password { user, password_stdin } => {
            // Said before the password is asked, so nobody types it twice for nothing.
            archive.account(&user)?;
            let password = new_password(password_stdin)?;
            archive.set_password(&actor, &user, None, &password)?;
            archive.flush()?;
            println!("mot de passe de {} enregistré", user.trim().to_lowercase());
            Ok(())
        }
        AccountCommand::Disable { user } => change(&archive, &actor, &user, disabled(true), "désactivé"),
        AccountCommand::Enable { user } => change(&archive, &actor, &user, disabled(false), "réactivé"),
        AccountCommand::Role { user, role } => {
            let changes = AccountChanges {
                role: Some(role_of(&role)?),
                ..AccountChanges::default()
            };
            change(&archive, &actor, &user, changes, "modifié")
        }
        AccountCommand::List { json } => {
            let accounts: Vec<AccountDto> = archive.accounts(&actor)?.iter().map(AccountDto::from).collect();
            print_accounts(&accounts, json)
        }
    }
}

fn disabled(value: bool) -> AccountChanges {
    AccountChanges {
        disabled: Some(value),
        ..AccountChanges::default()
    }
}

fn change(
    archive: &crate::archive::Archive,
    actor: &Actor,
    user: &str,
    changes: AccountChanges,
    done: &str,
) -> Result<(), Failure> {
    let account = archive.update_account(actor, user, changes)?;
    archive.flush()?;
    println!("compte {} {done} ({})", account.user, account.role);
    Ok(())
}
