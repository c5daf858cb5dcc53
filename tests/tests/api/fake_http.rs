//! A fake provider (employment platform, OCR) on loopback: answers from a script, records what
//! it got.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Canned answers, used in order (the last one repeats); requests received (target, body).
#[derive(Debug, Default)]
pub struct FakeHttp {
    answers: Mutex<Vec<(u16, String)>>,
    received: Mutex<Vec<(String, Vec<u8>)>>,
}

impl FakeHttp {
    /// The requests so far: request target (path and query) and raw body.
    pub fn received(&self) -> Vec<(String, Vec<u8>)> {
        self.received.lock().unwrap().clone()
    }

    /// The requests so far with their bodies read as JSON.
    pub fn received_json(&self) -> Vec<(String, Value)> {
        self.received()
            .into_iter()
            .map(|(target, body)| (target, serde_json::from_slice(&body).unwrap()))
            .collect()
    }

    /// Starts the fake; returns it and its base URL.
    pub async fn start(answers: Vec<(u16, String)>) -> (Arc<Self>, String) {
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
                    let head = String::from_utf8_lossy(&request).to_string();
                    let target = head.split(' ').nth(1).unwrap_or_default().to_string();
                    fake.received.lock().unwrap().push((target, body));
                    let (status, answer) = {
                        let mut answers = fake.answers.lock().unwrap();
                        if answers.len() > 1 {
                            answers.remove(0)
                        } else {
                            answers[0].clone()
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
