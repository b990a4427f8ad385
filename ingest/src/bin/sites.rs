//! `opsmantik-sites`: create and list sites (tenants) until the control-plane API exists.
//!
//!   opsmantik-sites create --name Shop --domain shop.example --origin https://shop.example
//!   opsmantik-sites list
//!
//! `create` prints the signing secret once; `list` never shows it.

use clap::{Parser, Subcommand};
use opsmantik_ingest::sites::{self, NewSite};
use opsmantik_runtime::redis::{RedisConfig, Store};

#[derive(Debug, Parser)]
#[command(about = "OpsMantik sites")]
struct Cli {
    #[command(flatten)]
    redis: RedisConfig,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a site and print its ids and signing secret.
    Create {
        /// Public id (what the tracker sends as `s`); generated when absent.
        #[arg(long)]
        public_id: Option<String>,
        #[arg(long)]
        name: String,
        #[arg(long)]
        domain: String,
        /// An allowed origin (repeatable), e.g. https://shop.example
        #[arg(long = "origin")]
        origins: Vec<String>,
        /// IANA time zone (default Europe/Istanbul).
        #[arg(long)]
        time_zone: Option<String>,
    },
    /// List sites (without secrets).
    List,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let store = Store::new(&cli.redis)?;
    match cli.command {
        Command::Create {
            public_id,
            name,
            domain,
            origins,
            time_zone,
        } => {
            let new = NewSite {
                public_id,
                name,
                domain,
                allowed_origins: origins,
                time_zone,
            };
            let site = sites::create(&store, new).await?;
            println!("id:        {}", site.id);
            println!("public_id: {}", site.public_id);
            println!(
                "secret:    {}   (shown once: keep it for signing call events)",
                site.secret
            );
        }
        Command::List => {
            for s in sites::list(&store).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    s.public_id,
                    s.id,
                    s.name,
                    s.domain,
                    s.time_zone,
                    s.allowed_origins.join(",")
                );
            }
        }
    }
    Ok(())
}
