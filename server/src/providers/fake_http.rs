//! A fake HTTP provider on loopback for the tests of the real reqwest clients (DESIGN.md §10).
//!
//! A minimal HTTP/1.1 server: one request per connection, each recorded byte for byte and
//! answered as told, or never answered at all to exercise timeouts.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use reqwest::Url;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the fake server does with each request.
#[derive(Debug, Clone)]
pub(crate) enum Answer {
    /// Answers with this status, content type and body.
    Reply {
        status: u16,
        content_type: &'static str,
        body: String,
    },
    /// Reads the request and then keeps the connection open without a word.
    Never,
}

impl Answer {
    /// A JSON answer.
    pub(crate) fn json(status: u16, body: impl Into<String>) -> Self {
        Self::Reply {
            status,
            content_type: "application/json;charset=utf-8",
            body: body.into(),
        }
    }

    /// An HTML answer, as a proxy or gateway in the way would give.
    pub(crate) fn html(status: u16, body: impl Into<String>) -> Self {
        Self::Reply {
            status,
            content_type: "text/html",
            body: body.into(),
        }
    }
}

/// Runs `call` against a server that [never answers](Answer::Never) and checks that the client
/// gave up on its 300 ms timeout: the request arrived, and the answer came neither at once nor
/// late. Returns the call's result.
pub(crate) async fn timed_out<T>(call: impl Future<Output = (T, Vec<Received>)>) -> T {
    let started = std::time::Instant::now();
    let (result, received) = call.await;
    let elapsed = started.elapsed();
    assert_eq!(received.len(), 1, "the request did arrive");
    assert!(
        elapsed >= std::time::Duration::from_millis(250)
            && elapsed < std::time::Duration::from_secs(3),
        "{elapsed:?}"
    );
    result
}

/// One request as it arrived.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) method: String,
    /// The request target: path and query, as sent.
    pub(crate) target: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Received {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path of the target, without the query.
    pub(crate) fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// The query of the target, decoded by `url`'s parser, which knows nothing of ours.
    pub(crate) fn query(&self) -> BTreeMap<String, String> {
        let query = self.target.split_once('?').map_or("", |(_, q)| q);
        decode_pairs(query)
    }

    /// The body as an `application/x-www-form-urlencoded` form.
    pub(crate) fn form(&self) -> BTreeMap<String, String> {
        decode_pairs(std::str::from_utf8(&self.body).unwrap())
    }

    /// The body as text.
    pub(crate) fn body_text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }
}

/// `name=value&…` decoded; a name given twice fails the test.
fn decode_pairs(encoded: &str) -> BTreeMap<String, String> {
    let url = Url::parse(&format!("http://pairs.invalid/?{encoded}")).unwrap();
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let decoded: BTreeMap<_, _> = pairs.iter().cloned().collect();
    assert_eq!(
        decoded.len(),
        pairs.len(),
        "a parameter appears twice: {pairs:?}"
    );
    decoded
}

/// The fake server; it stops accepting when dropped.
#[derive(Debug)]
pub(crate) struct FakeHttp {
    base_url: String,
    received: Arc<Mutex<Vec<Received>>>,
    accept_loop: JoinHandle<()>,
}

impl FakeHttp {
    /// Starts a server on a free loopback port that gives `answer` to every request.
    pub(crate) async fn start(answer: Answer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}/", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        let accept_loop = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, answer.clone(), Arc::clone(&log)));
            }
        });
        Self {
            base_url,
            received,
            accept_loop,
        }
    }

    /// `http://127.0.0.1:PORT/`.
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Every request so far, in order of arrival.
    pub(crate) fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for FakeHttp {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

/// A base URL where nothing listens: the port was free a moment ago and is closed now.
pub(crate) async fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}/")
}

async fn serve(mut stream: TcpStream, answer: Answer, log: Arc<Mutex<Vec<Received>>>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let read = stream.read(&mut chunk).await.unwrap();
        if read == 0 {
            return;
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8(buffer[..head_end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap().split(' ');
    let method = request_line.next().unwrap().to_owned();
    let target = request_line.next().unwrap().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().unwrap());
    while buffer.len() < head_end + length {
        let read = stream.read(&mut chunk).await.unwrap();
        assert!(read > 0, "body cut short");
        buffer.extend_from_slice(&chunk[..read]);
    }
    let body = buffer[head_end..head_end + length].to_vec();
    log.lock().unwrap().push(Received {
        method,
        target,
        headers,
        body,
    });

    match answer {
        Answer::Never => std::future::pending::<()>().await,
        Answer::Reply {
            status,
            content_type,
            body,
        } => {
            let response = format!(
                "HTTP/1.1 {status} Fake\r\nContent-Type: {content_type}\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(response.as_bytes()).await.unwrap();
            stream.shutdown().await.unwrap();
        }
    }
}
