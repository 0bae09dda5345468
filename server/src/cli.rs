//! The commands operators run beside the server: `check`, `admin set-password`, `backup`,
//! `generate-master-key`. `latchkey` alone (or `latchkey serve`) runs the server.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use domain::crypto::MasterKey;
use domain::Latchkey;

use crate::load_configuration;

const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("LATCHKEY_GIT_COMMIT"), ")");

/// Sign in with Notion, self-hosted. Configured by environment variables (see the README).
#[derive(Debug, Parser)]
#[command(name = "latchkey", version = VERSION, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (what `latchkey` with no command does).
    Serve,
    /// Validate the configuration: exit 0, or 1 with the line the server would print.
    Check,
    /// Manage the dashboard's admin.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Copy the embedded SQLite database to PATH, consistently, while the server runs.
    Backup {
        /// Where the copy goes (a new file).
        path: PathBuf,
    },
    /// Print a new random master key for LATCHKEY_MASTER_KEY.
    GenerateMasterKey,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Read a new dashboard password (12+ characters) from standard input, store it, and end
    /// every dashboard session.
    SetPassword,
}

pub async fn run(command: Command) -> ExitCode {
    let outcome = match command {
        Command::Serve => Err("serve is run by main".to_string()),
        Command::Check => check(),
        Command::Admin { command: AdminCommand::SetPassword } => set_password().await,
        Command::Backup { path } => backup(&path),
        Command::GenerateMasterKey => {
            println!("{}", MasterKey::generate().to_base64());
            Ok(())
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(line) => {
            eprintln!("latchkey: {line}");
            ExitCode::from(1)
        }
    }
}

fn check() -> Result<(), String> {
    let (_, config) = load_configuration()?;
    println!(
        "latchkey: the configuration is valid ({} instance at {}, listening on {})",
        config.environment.as_str(),
        config.public_url,
        config.site_addr
    );
    Ok(())
}

/// The stored password is the password of record, but `LATCHKEY_ADMIN_PASSWORD` (or its
/// `_FILE`) replaces it at every start: setting one here while that variable is set would last
/// only until the next start, so it is refused instead.
async fn set_password() -> Result<(), String> {
    let (_, config) = load_configuration()?;
    if config.admin_password.is_some() {
        return Err("LATCHKEY_ADMIN_PASSWORD (or _FILE) is set and replaces the stored password at every start: change it there, or unset it first".into());
    }
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).map_err(|e| format!("cannot read standard input: {e}"))?;
    let password = input.trim_end_matches(['\n', '\r']);
    if password.chars().count() < domain::admin::MIN_PASSWORD_CHARS {
        return Err(format!(
            "the new password must be at least {} characters (it is read from standard input)",
            domain::admin::MIN_PASSWORD_CHARS
        ));
    }
    let (latchkey, _) = Latchkey::start(config).await.map_err(|e| e.to_string())?;
    let done = latchkey.set_admin_password(password).await.map_err(|e| e.message);
    let record = domain::admin::AuditRecord {
        actor: "cli",
        client: "local".into(),
        action: "cli/admin set-password".into(),
        target: None,
        status: if done.is_ok() { 200 } else { 500 },
    };
    latchkey.audit(record).await;
    latchkey.close().await;
    done?;
    println!("latchkey: the admin password is set; every dashboard session has ended");
    Ok(())
}

fn backup(path: &std::path::Path) -> Result<(), String> {
    let (_, config) = load_configuration()?;
    if !config.database_url.starts_with("sqlite:") {
        return Err("backup copies the embedded SQLite database; for PostgreSQL use pg_dump, e.g. `pg_dump --format=custom --file=latchkey.dump \"$DATABASE_URL\"`".into());
    }
    domain::store::backup_sqlite(&config.database_url, path)?;
    println!("latchkey: backed up to {}", path.display());
    Ok(())
}
