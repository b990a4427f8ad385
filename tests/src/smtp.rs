//! A minimal SMTP server for tests: accepts every message on loopback and keeps it, so a test can read the
//! sign-in code the edge mailed.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Messages received so far (the DATA part of each).
#[derive(Debug, Clone, Default)]
pub struct Inbox {
    messages: Arc<Mutex<Vec<String>>>,
}

impl Inbox {
    /// Starts the server; returns its `smtp://127.0.0.1:port` URL and the inbox.
    pub async fn start() -> anyhow::Result<(String, Inbox)> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("smtp://{}", listener.local_addr()?);
        let inbox = Inbox::default();
        let messages = inbox.messages.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let messages = messages.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let _ = write.write_all(b"220 test smtp\r\n").await;
                    let mut data: Option<String> = None;
                    while let Ok(Some(line)) = lines.next_line().await {
                        if let Some(body) = data.as_mut() {
                            if line == "." {
                                messages
                                    .lock()
                                    .unwrap_or_else(|p| p.into_inner())
                                    .push(std::mem::take(body));
                                data = None;
                                let _ = write.write_all(b"250 queued\r\n").await;
                            } else {
                                body.push_str(&line);
                                body.push('\n');
                            }
                            continue;
                        }
                        let reply: &[u8] = match line
                            .split_whitespace()
                            .next()
                            .unwrap_or("")
                            .to_ascii_uppercase()
                            .as_str()
                        {
                            "DATA" => {
                                data = Some(String::new());
                                b"354 go ahead\r\n"
                            }
                            "QUIT" => b"221 bye\r\n",
                            _ => b"250 ok\r\n",
                        };
                        let _ = write.write_all(reply).await;
                    }
                });
            }
        });
        Ok((url, inbox))
    }

    /// The 6-digit code of the latest message to `email`.
    pub fn code_for(&self, email: &str) -> Option<String> {
        let messages = self.messages.lock().unwrap_or_else(|p| p.into_inner());
        messages
            .iter()
            .rev()
            .find(|m| m.contains(&format!("To: {email}")))
            .and_then(|m| {
                m.split(|c: char| !c.is_ascii_digit())
                    .find(|w| w.len() == 6)
                    .map(str::to_string)
            })
    }
}
