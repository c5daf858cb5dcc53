//! A fake employment platform on loopback: answers pushes from a script, records what it got.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Canned answers, used in order (the last one repeats); requests received.
#[derive(Debug, Default)]
pub struct FakePlatform {
    answers: Mutex<Vec<(u16, &'static str)>>,
    pub received: Mutex<Vec<Value>>,
}

impl FakePlatform {
    /// Starts the fake; returns it and its base URL.
    pub async fn start(answers: Vec<(u16, &'static str)>) -> (Arc<Self>, String) {
        let fake = Arc::new(Self {
            answers: Mutex::new(answers),
            received: Mutex::default(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let serving = fake.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let fake = serving.clone();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buffer = [0u8; 4096];
                    // Read the head, then the body by Content-Length.
                    let body = loop {
                        let n = socket.read(&mut buffer).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        request.extend_from_slice(&buffer[..n]);
                        let text = String::from_utf8_lossy(&request).to_string();
                        if let Some(end) = text.find("\r\n\r\n") {
                            let length = text[..end]
                                .lines()
                                .find_map(|l| {
                                    l.to_ascii_lowercase()
                                        .strip_prefix("content-length:")
                                        .map(|v| v.trim().parse::<usize>().unwrap())
                                })
                                .unwrap_or(0);
                            if request.len() >= end + 4 + length {
                                break request[end + 4..end + 4 + length].to_vec();
                            }
                        }
                    };
                    fake.received
                        .lock()
                        .unwrap()
                        .push(serde_json::from_slice(&body).unwrap());
                    let (status, answer) = {
                        let mut answers = fake.answers.lock().unwrap();
                        if answers.len() > 1 {
                            answers.remove(0)
                        } else {
                            answers[0]
                        }
                    };
                    let response = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                        answer.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                });
            }
        });
        (fake, format!("http://{address}"))
    }
}
