//! Delivery of sign-in codes: with `SMTP_URL` set, mailed over plain SMTP (`smtp://host:port`), e.g. to a
//! relay on the same host; otherwise logged at debug level, or at info level with `--dev-print-codes`
//! (development: the run command shows where to read them).

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Where codes go.
#[derive(Debug, Clone)]
pub enum Mailer {
    /// The code is written to the debug log only.
    Log,
    /// Development: the code is written to the log at info level.
    DevPrint,
    /// SMTP relay at `addr` (host:port), sending as `from`.
    Smtp { addr: String, from: String },
}

impl Mailer {
    /// `SMTP_URL` (`smtp://host:port`), or the log.
    pub fn from_config(config: &super::IdentityConfig) -> Result<Self, String> {
        let (url, from) = (config.smtp_url.as_str(), config.smtp_from.as_str());
        if url.is_empty() {
            return Ok(if config.dev_print_codes {
                Mailer::DevPrint
            } else {
                Mailer::Log
            });
        }
        let addr = url
            .strip_prefix("smtp://")
            .ok_or("SMTP_URL must look like smtp://host:port")?;
        Ok(Mailer::Smtp {
            addr: addr.trim_end_matches('/').to_string(),
            from: from.to_string(),
        })
    }

    pub async fn send_code(&self, email: &str, code: &str) -> std::io::Result<()> {
        match self {
            Mailer::Log => {
                tracing::debug!(email, code, "sign-in code (not mailed)");
                Ok(())
            }
            Mailer::DevPrint => {
                tracing::info!(email, code, "sign-in code (development: --dev-print-codes)");
                Ok(())
            }
            Mailer::Smtp { addr, from } => {
                let body = format!(
                    "From: {from}\r\nTo: {email}\r\nSubject: Your OpsMantik code\r\n\r\nYour code is {code}. It expires in 10 minutes.\r\n"
                );
                smtp_send(addr, from, email, &body).await
            }
        }
    }
}

async fn smtp_send(addr: &str, from: &str, to: &str, message: &str) -> std::io::Result<()> {
    let stream = tokio::time::timeout(std::time::Duration::from_secs(5), TcpStream::connect(addr))
        .await
        .map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::TimedOut, "SMTP connect timed out")
        })??;
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut expect = async |code: &str| -> std::io::Result<()> {
        loop {
            let line = lines.next_line().await?.unwrap_or_default();
            if line.len() >= 4 && line.as_bytes()[3] == b'-' {
                continue;
            }
            return if line.starts_with(code) {
                Ok(())
            } else {
                Err(std::io::Error::other(format!(
                    "SMTP: expected {code}, got {line:?}"
                )))
            };
        }
    };
    expect("220").await?;
    for (command, reply) in [
        ("HELO opsmantik\r\n".to_string(), "250"),
        (format!("MAIL FROM:<{from}>\r\n"), "250"),
        (format!("RCPT TO:<{to}>\r\n"), "250"),
        ("DATA\r\n".to_string(), "354"),
        (format!("{message}.\r\n"), "250"),
        ("QUIT\r\n".to_string(), "221"),
    ] {
        write.write_all(command.as_bytes()).await?;
        expect(reply).await?;
    }
    Ok(())
}
