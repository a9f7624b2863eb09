//! The one binary: `tributary serve | demo | migrate | keys create`.

mod demo;
mod generate;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::sync::Arc;
use tributary_app::App;
use tributary_app::clock::{Clock, SystemClock};
use tributary_app::smtp::SmtpConfig;
use tributary_store::Store;
use tributary_store::postgres::PgStore;
use tributary_store::sqlite::SqliteStore;

/// The redirect and ingestion allocate a few short-lived strings per request; mimalloc's
/// thread-local free lists serve them faster than the system allocator (bench/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "tributary",
    version,
    about = "Referral and affiliate partner programs, with money that explains itself."
)]
struct Cli {
    /// Database URL. SQLite (`sqlite://tributary.db`) is the embedded default.
    #[arg(long, global = true, env = "TRIBUTARY_DATABASE_URL")]
    database: Option<String>,
    /// PostgreSQL connections this process opens at most. Keep nodes x this below the
    /// server's `max_connections`.
    #[arg(long, global = true, env = "TRIBUTARY_PG_POOL_SIZE", default_value_t = tributary_store::postgres::DEFAULT_POOL_SIZE)]
    pg_pool_size: usize,
    #[command(subcommand)]
    command: Command,
}

/// Where emails go and what their links point at.
#[derive(clap::Args)]
struct MailArgs {
    /// A mail relay (`host:port`, plain SMTP, e.g. a local Postfix that handles TLS and
    /// authentication). Without one, emails are kept as `held` in the admin's Emails page.
    #[arg(long, env = "TRIBUTARY_SMTP_RELAY")]
    smtp_relay: Option<String>,
    /// The sender address of every email.
    #[arg(
        long,
        env = "TRIBUTARY_MAIL_FROM",
        default_value = "partners@localhost"
    )]
    mail_from: String,
    /// The address partners reach this server at, for links in emails
    /// (`https://partners.example.com`); by default `http://` and the listen address.
    #[arg(long, env = "TRIBUTARY_PUBLIC_URL")]
    public_url: Option<String>,
}

impl MailArgs {
    fn apply(&self, app: &App, listen: &str) {
        let public_url = self
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{listen}"));
        let hello_name = public_url
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split(['/', ':']).next())
            .filter(|host| !host.is_empty())
            .unwrap_or("localhost")
            .to_string();
        app.mail.set_public_url(Some(public_url));
        app.mail
            .set_relay(self.smtp_relay.clone().map(|relay| SmtpConfig {
                relay,
                from: self.mail_from.clone(),
                hello_name,
            }));
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API, the redirect, the web UI and background jobs.
    Serve {
        #[arg(long, env = "TRIBUTARY_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// What this node does: `all` (HTTP, jobs, and event-log workers when there is a
        /// log), `edge` (HTTP only: redirect, API, UI), `worker` (event-log workers and jobs;
        /// it answers HTTP too, for health checks).
        #[arg(long, env = "TRIBUTARY_ROLE", value_enum, default_value_t = Role::All)]
        role: Role,
        /// Tier 2: a NATS JetStream server (`nats://host:4222`) between the edge and the
        /// workers. Needs PostgreSQL.
        #[arg(long, env = "TRIBUTARY_EVENT_LOG")]
        event_log: Option<String>,
        /// Names this install's streams, so several installs can share one NATS server.
        #[arg(long, env = "TRIBUTARY_EVENT_LOG_NAMESPACE", default_value = tributary_app::event_log::DEFAULT_NAMESPACE)]
        event_log_namespace: String,
        #[command(flatten)]
        mail: MailArgs,
    },
    /// Create a fresh demo database with 90 days of history, print logins, and serve it.
    Demo {
        #[arg(long, env = "TRIBUTARY_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Build the demo data and exit without serving.
        #[arg(long)]
        no_serve: bool,
        #[command(flatten)]
        mail: MailArgs,
    },
    /// Apply database migrations to `--database` and exit; or, with `--from` and `--to`, move
    /// a SQLite install into a new PostgreSQL database, verified row by row and balance by
    /// balance.
    Migrate {
        /// The SQLite database to copy from (`sqlite://PATH`); it is only read.
        #[arg(long, value_name = "URL", requires = "to")]
        from: Option<String>,
        /// The new, empty PostgreSQL database to copy into
        /// (`postgres://USER[:PASSWORD]@HOST:PORT/DATABASE`); it is migrated first.
        #[arg(long, value_name = "URL", requires = "from")]
        to: Option<String>,
    },
    /// Run a period's stored events through a proposed plan and the current one, into a
    /// scratch ledger, and compare: cost, cost per acquired and retained customer, partners
    /// who gain and lose, cost by archetype and tier. The real ledger is never touched.
    Replay {
        /// The proposed plan (JSON, as `POST /programs/{id}/plans` takes it). Without it,
        /// the current plans are replayed alone.
        #[arg(long, value_name = "FILE")]
        plan: Option<std::path::PathBuf>,
        /// First day of the range (`YYYY-MM-DD`, UTC).
        #[arg(long)]
        from: String,
        /// Last day of the range, included (`YYYY-MM-DD`, UTC).
        #[arg(long)]
        to: String,
        /// The program (its id); needed when the workspace has several.
        #[arg(long)]
        program: Option<String>,
        /// Also write one row per partner to this CSV file.
        #[arg(long, value_name = "FILE")]
        csv: Option<std::path::PathBuf>,
    },
    /// Write a large synthetic history (about `--events` events over the last year) into a
    /// new database, for replay and benchmarks.
    Generate {
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        #[arg(long, default_value_t = 500)]
        partners: u32,
        #[arg(long, default_value_t = 4)]
        seed: u64,
    },
    /// Create a workspace and its owner on a new database (the first step of a real install).
    Init {
        #[arg(long)]
        workspace: String,
        #[arg(long)]
        email: String,
        /// The owner's password (at least 10 characters).
        #[arg(long, env = "TRIBUTARY_OWNER_PASSWORD")]
        password: String,
    },
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create an API key and print it once.
    Create {
        /// A name to recognise the key by.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Scope the key to one partner (read-only access to that partner's data).
        #[arg(long)]
        partner: Option<String>,
    },
}

/// Opens the store a URL names. Only the binary names concrete backends.
async fn open_store(url: &str, pg_pool_size: usize) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        let store = SqliteStore::open(url)
            .await
            .with_context(|| format!("opening {url}"))?;
        return Ok(Arc::new(store));
    }
    if PgStore::handles(url) {
        let store = PgStore::open(url, pg_pool_size)
            .await
            .with_context(|| format!("opening {}", display_url(url)))?;
        return Ok(Arc::new(store));
    }
    bail!(
        "unsupported database URL {:?}; use sqlite://PATH or postgres://USER@HOST:PORT/DATABASE",
        display_url(url)
    )
}

/// A database or event-log URL fit for a log or a terminal: the password in the user
/// part (up to the last `@`) and any `password=` query parameter replaced by `***`.
fn display_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let base = match base.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((userinfo, host)) => match userinfo.split_once(':') {
                Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
                None => base.to_string(),
            },
            None => base.to_string(),
        },
        None => base.to_string(),
    };
    match query {
        Some(query) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) if name.eq_ignore_ascii_case("password") => {
                        format!("{name}=***")
                    }
                    _ => pair.to_string(),
                })
                .collect();
            format!("{base}?{}", query.join("&"))
        }
        None => base,
    }
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down");
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Role {
    All,
    Edge,
    Worker,
}

async fn serve(app: App, listen: &str) -> Result<()> {
    serve_as(app, listen, Role::All).await
}

async fn serve_as(app: App, listen: &str, role: Role) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    tracing::info!(address = %listener.local_addr()?, store = app.store.backend(), "serving");
    if role != Role::Edge {
        tokio::spawn(tributary_app::jobs::run_forever(app.clone()));
        if let Some(source) = app.source.clone() {
            let app = app.clone();
            tokio::spawn(async move { source.run(app).await });
        }
    }
    tributary_server::serve(listener, app, shutdown_signal()).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match cli.command {
        Command::Serve {
            listen,
            role,
            event_log,
            event_log_namespace,
            mail,
        } => {
            let url = cli
                .database
                .unwrap_or_else(|| "sqlite://tributary.db".into());
            let store = open_store(&url, cli.pg_pool_size).await?;
            let log = match event_log {
                Some(log_url) => {
                    if store.backend() != "postgres" {
                        bail!(
                            "--event-log needs a PostgreSQL database (tier 2); this one is {}",
                            store.backend()
                        );
                    }
                    Some(
                        tributary_app::event_log::NatsLog::connect(&log_url, &event_log_namespace)
                            .await
                            .with_context(|| {
                                format!("connecting to the event log at {}", display_url(&log_url))
                            })?,
                    )
                }
                None => None,
            };
            let app = App::start_with(store, clock, log).await?;
            mail.apply(&app, &listen);
            serve_as(app, &listen, role).await
        }
        Command::Demo {
            listen,
            no_serve,
            mail,
        } => {
            let url = cli
                .database
                .unwrap_or_else(|| "sqlite://tributary-demo.db".into());
            demo::reset_file(&url)?;
            let store = open_store(&url, cli.pg_pool_size).await?;
            demo::require_empty(store.as_ref(), &display_url(&url)).await?;
            let logins = demo::build(store.clone(), clock.now()).await?;
            let app = App::start(store, clock).await?;
            mail.apply(&app, &listen);
            println!("Tributary demo on {}", display_url(&url));
            println!(
                "  admin:    http://{listen}/admin   {} / {}",
                logins.admin_email,
                demo::ADMIN_PASSWORD
            );
            println!(
                "  partner:  http://{listen}/portal  {} / {}",
                logins.partner_email,
                demo::PARTNER_PASSWORD
            );
            println!("  api key: {}", logins.api_key);
            println!("  link: http://{listen}/r/{}", logins.link_code);
            if no_serve {
                return Ok(());
            }
            serve(app, &listen).await
        }
        Command::Migrate {
            from: Some(from),
            to: Some(to),
        } => {
            let report = tributary_store::copy::sqlite_to_postgres(&from, &to)
                .await
                .with_context(|| {
                    format!("copying {} to {}", display_url(&from), display_url(&to))
                })?;
            println!("copied {} to {}", display_url(&from), display_url(&to));
            print!("{report}");
            Ok(())
        }
        Command::Migrate { from, to } => {
            if from.is_some() || to.is_some() {
                bail!(
                    "--from and --to go together: the SQLite database and the PostgreSQL database to copy it into"
                );
            }
            let url = cli
                .database
                .unwrap_or_else(|| "sqlite://tributary.db".into());
            open_store(&url, cli.pg_pool_size).await?.migrate().await?;
            println!("migrated {}", display_url(&url));
            Ok(())
        }
        Command::Replay {
            plan,
            from,
            to,
            program,
            csv,
        } => {
            let url = cli
                .database
                .unwrap_or_else(|| "sqlite://tributary.db".into());
            let store = open_store(&url, cli.pg_pool_size).await?;
            // A database last served by an older binary reads with this one's schema.
            store.migrate().await.context("migrating the database")?;
            replay_command(store, plan, &from, &to, program, csv).await
        }
        Command::Generate {
            events,
            partners,
            seed,
        } => {
            let url = cli
                .database
                .unwrap_or_else(|| "sqlite://tributary-generated.db".into());
            let store = open_store(&url, cli.pg_pool_size).await?;
            let started = std::time::Instant::now();
            let generated =
                generate::generate(store, events, partners.max(1), seed, clock.now()).await?;
            println!(
                "generated {} events of {} customers into {} in {:.1} s (program {}; admin@generated.example / {})",
                generated.events,
                generated.customers,
                display_url(&url),
                started.elapsed().as_secs_f64(),
                generated.program_id,
                generated.admin_password
            );
            Ok(())
        }
        Command::Init {
            workspace,
            email,
            password,
        } => {
            let url = cli
                .database
                .unwrap_or_else(|| "sqlite://tributary.db".into());
            let app = App::start(open_store(&url, cli.pg_pool_size).await?, clock).await?;
            let (workspace, user) =
                tributary_app::admin::create_workspace(&app, &workspace, &email, &password).await?;
            println!(
                "created workspace {} ({}) with owner {}",
                workspace.name, workspace.id, user.email
            );
            Ok(())
        }
        Command::Keys {
            command: KeysCommand::Create { name, partner },
        } => {
            let url = cli
                .database
                .unwrap_or_else(|| "sqlite://tributary.db".into());
            let app = App::start(open_store(&url, cli.pg_pool_size).await?, clock).await?;
            let workspace = app
                .store
                .read()
                .await?
                .first_workspace()
                .await?
                .context("no workspace yet: run `tributary demo` or create one")?;
            let partner_id = partner
                .map(|text| text.parse())
                .transpose()
                .context("--partner must be a partner id")?;
            let (secret, _) =
                tributary_app::auth::create_api_key(&app, workspace.id, partner_id, &name).await?;
            println!("{secret}");
            Ok(())
        }
    }
}

async fn replay_command(
    store: Arc<dyn Store>,
    plan: Option<std::path::PathBuf>,
    from: &str,
    to: &str,
    program: Option<String>,
    csv: Option<std::path::PathBuf>,
) -> Result<()> {
    use tributary_core::period::parse_date;
    let from = parse_date(from).context("--from must be a date such as 2026-01-01")?;
    let to = parse_date(to)
        .context("--to must be a date such as 2026-09-30")?
        .plus_days(1);
    let proposed = match plan {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let plan: tributary_core::plan::Plan = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a plan", path.display()))?;
            plan.validate()
                .map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))?;
            Some(plan)
        }
        None => None,
    };
    let mut tx = store.read().await?;
    let workspace = tx
        .first_workspace()
        .await?
        .context("the database has no workspace")?;
    let program_id = match program {
        Some(text) => text.parse().context("--program must be a program id")?,
        None => {
            let programs = tx
                .programs(workspace.id, tributary_store::Page::first(2))
                .await?;
            match programs.as_slice() {
                [only] => only.id,
                [] => bail!("the workspace has no program"),
                _ => bail!("the workspace has several programs: name one with --program"),
            }
        }
    };
    drop(tx);
    let started = std::time::Instant::now();
    let report = tributary_app::replay::replay(
        store.as_ref(),
        &tributary_app::replay::ReplayRequest {
            workspace_id: workspace.id,
            program_id,
            proposed,
            from,
            to,
            keep_keys: false,
        },
    )
    .await?;
    let elapsed = started.elapsed();
    print!("{}", report.text());
    if let Some(path) = csv {
        std::fs::write(&path, report.csv())
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    // On stderr, so the report itself stays byte-for-byte deterministic.
    eprintln!(
        "replayed {} events in {:.2} s ({:.0} events/s)",
        report.events_read,
        elapsed.as_secs_f64(),
        report.events_read as f64 / elapsed.as_secs_f64().max(1e-9)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::display_url;

    #[test]
    fn passwords_never_reach_the_terminal() {
        assert_eq!(
            display_url("postgres://app:s3cret@db.internal:5432/tributary"),
            "postgres://app:***@db.internal:5432/tributary"
        );
        assert_eq!(display_url("postgres://app@db/t"), "postgres://app@db/t");
        assert_eq!(
            display_url("postgres://app:p@ss@db/t?sslmode=require&password=x"),
            "postgres://app:***@db/t?sslmode=require&password=***"
        );
        assert_eq!(
            display_url("nats://user:secret@nats:4222"),
            "nats://user:***@nats:4222"
        );
        assert_eq!(display_url("sqlite://demo.db"), "sqlite://demo.db");
    }
}
