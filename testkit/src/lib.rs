//! Test support for the whole workspace: [`FakeHttp`], the one fake of outside HTTP services
//! (Aliyun, WeChat, the employment platform) that the provider clients' unit tests in
//! `mcert-server` and the end-to-end tests in `mcert-e2e` point the real reqwest clients at
//! (DESIGN.md §10).
//!
//! A minimal HTTP/1.1 server on loopback, port 0: one request per connection, each recorded byte
//! for byte and answered from a script, per method and path or in order of arrival. An answer can
//! be an HTML page (a proxy or gateway in the way) or no answer at all, held until the fake is
//! dropped at the end of the test, so that the client's own timeout, set short by the test, is
//! all the test waits for. [`closed_port_url`] gives a port where nothing listens.

// Test support: a broken expectation here is a failed test, and saying so loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// What the fake does with a request.
#[derive(Debug, Clone)]
pub enum Answer {
    /// Answers with this status, content type and body, then closes the connection.
    Reply {
        /// The HTTP status.
        status: u16,
        /// The `Content-Type` header.
        content_type: &'static str,
        /// The body, sent as it is.
        body: String,
    },
    /// Reads the request and then keeps the connection open without a word until the fake is
    /// dropped.
    Never,
}

impl Answer {
    /// A JSON answer (the body is sent as given, JSON or not).
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Self::Reply {
            status,
            content_type: "application/json;charset=utf-8",
            body: body.into(),
        }
    }

    /// An HTML answer, as a proxy or gateway in the way would give.
    pub fn html(status: u16, body: impl Into<String>) -> Self {
        Self::Reply {
            status,
            content_type: "text/html",
            body: body.into(),
        }
    }
}

/// Answers given in order, the last one for every request after it.
#[derive(Debug, Clone)]
struct Queue(VecDeque<Answer>);

impl Queue {
    fn new(answers: impl IntoIterator<Item = Answer>) -> Self {
        let answers: VecDeque<Answer> = answers.into_iter().collect();
        assert!(!answers.is_empty(), "a fake's script needs an answer");
        Self(answers)
    }

    fn next(&mut self) -> Answer {
        if self.0.len() > 1 {
            self.0.pop_front().unwrap()
        } else {
            self.0[0].clone()
        }
    }
}

/// The script of a fake: answers per method and path, and for every other request.
#[derive(Debug, Clone, Default)]
pub struct Routes {
    routes: Vec<(String, String, Queue)>,
    otherwise: Option<Queue>,
}

impl Routes {
    /// No route yet; a request no route takes is answered 404.
    pub fn new() -> Self {
        Self::default()
    }

    /// `answers`, in order (the last one repeats), to the `method` requests for `path`, whatever
    /// their query.
    #[must_use]
    pub fn on(
        mut self,
        method: &str,
        path: &str,
        answers: impl IntoIterator<Item = Answer>,
    ) -> Self {
        self.routes
            .push((method.to_owned(), path.to_owned(), Queue::new(answers)));
        self
    }

    /// `answers`, in order (the last one repeats), to every request no route takes.
    #[must_use]
    pub fn otherwise(mut self, answers: impl IntoIterator<Item = Answer>) -> Self {
        self.otherwise = Some(Queue::new(answers));
        self
    }

    /// Starts a fake that follows this script.
    pub async fn start(self) -> FakeHttp {
        FakeHttp::serve(self).await
    }

    fn answer(&mut self, request: &Received) -> Answer {
        let route = self
            .routes
            .iter_mut()
            .find(|(method, path, _)| request.is(method, path));
        match (route, &mut self.otherwise) {
            (Some((_, _, answers)), _) | (None, Some(answers)) => answers.next(),
            (None, None) => Answer::Reply {
                status: 404,
                content_type: "text/plain",
                body: format!(
                    "the fake has no answer for {} {}",
                    request.method,
                    request.path()
                ),
            },
        }
    }
}

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    /// `GET`, `POST`, …
    pub method: String,
    /// The request target: path and query, as sent.
    pub target: String,
    /// The headers, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body, byte for byte.
    pub body: Vec<u8>,
}

impl Received {
    /// The value of the header `name`, whatever its case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path of the target, without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// Whether this is a `method` request for `path`.
    pub fn is(&self, method: &str, path: &str) -> bool {
        self.method == method && self.path() == path
    }

    /// The query of the target, decoded by `url`'s parser, which knows nothing of ours.
    pub fn query(&self) -> BTreeMap<String, String> {
        let query = self.target.split_once('?').map_or("", |(_, q)| q);
        decode_pairs(query.as_bytes())
    }

    /// The body as an `application/x-www-form-urlencoded` form.
    pub fn form(&self) -> BTreeMap<String, String> {
        decode_pairs(&self.body)
    }

    /// The body as text.
    pub fn body_text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{} {}: body is not JSON: {e}", self.method, self.target))
    }
}

/// `name=value&…` decoded; a name given twice fails the test.
fn decode_pairs(encoded: &[u8]) -> BTreeMap<String, String> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(encoded).into_owned().collect();
    let decoded: BTreeMap<_, _> = pairs.iter().cloned().collect();
    assert_eq!(
        decoded.len(),
        pairs.len(),
        "a parameter appears twice: {pairs:?}"
    );
    decoded
}

#[derive(Debug)]
struct State {
    routes: Routes,
    received: Vec<Received>,
}

/// The fake server; dropping it stops it and closes every connection it holds.
#[derive(Debug)]
pub struct FakeHttp {
    base_url: String,
    state: Arc<Mutex<State>>,
    accept_loop: JoinHandle<()>,
}

impl FakeHttp {
    /// Starts a fake that gives `answer` to every request.
    pub async fn start(answer: Answer) -> Self {
        Routes::new().otherwise([answer]).start().await
    }

    /// Starts a fake that gives `answers` in order of arrival, the last one to every request
    /// after it.
    pub async fn in_order(answers: impl IntoIterator<Item = Answer>) -> Self {
        Routes::new().otherwise(answers).start().await
    }

    async fn serve(routes: Routes) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}/", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            routes,
            received: Vec::new(),
        }));
        let serving = Arc::clone(&state);
        let accept_loop = tokio::spawn(async move {
            // Owned here, so that aborting this loop also drops the connections held open.
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { return };
                        connections.spawn(respond(stream, Arc::clone(&serving)));
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Self {
            base_url,
            state,
            accept_loop,
        }
    }

    /// `http://127.0.0.1:PORT/`, with the trailing slash clients join paths onto.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Every request so far, in order of arrival.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// The `method` requests for `path` so far, in order of arrival.
    pub fn received_at(&self, method: &str, path: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|request| request.is(method, path))
            .collect()
    }
}

impl Drop for FakeHttp {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

/// A base URL where nothing listens: the port was free a moment ago and is closed now.
pub async fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}/")
}

/// Reads one request from `stream`, records it and answers it as the script says.
async fn respond(mut stream: TcpStream, state: Arc<Mutex<State>>) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    let answer = {
        let mut state = state.lock().unwrap();
        let answer = state.routes.answer(&request);
        state.received.push(request);
        answer
    };
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
            // The client may have given up already; that is its business.
            if stream.write_all(response.as_bytes()).await.is_ok() {
                let _ = stream.shutdown().await;
            }
        }
    }
}

/// The request on `stream`, its body read by `Content-Length`; `None` if the client left first.
async fn read_request(stream: &mut TcpStream) -> Option<Received> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8(buffer[..head_end].to_vec()).expect("request head is UTF-8");
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let target = request_line.next().expect("request target").to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().expect("Content-Length is a number"));
    while buffer.len() < head_end + length {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    Some(Received {
        method,
        target,
        headers,
        body: buffer[head_end..head_end + length].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Sends `request` (raw HTTP) to `base_url` and reads the whole answer.
    async fn exchange(base_url: &str, request: &str) -> String {
        let address = base_url.trim_start_matches("http://").trim_end_matches('/');
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer
    }

    fn get(path: &str) -> String {
        format!("GET {path} HTTP/1.1\r\nHost: fake\r\n\r\n")
    }

    #[tokio::test]
    async fn records_requests_byte_for_byte() {
        let fake = FakeHttp::start(Answer::json(201, r#"{"ok":true}"#)).await;
        let body = "a=1&b=%E4%BA%91+%2B&c=\r\n\r\n";
        let request = format!(
            "POST /x/y?q=%20z&r=1 HTTP/1.1\r\nHost: fake\r\nX-Test: one\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let answer = exchange(fake.base_url(), &request).await;
        assert!(answer.starts_with("HTTP/1.1 201 "), "{answer}");
        assert!(answer.ends_with("\r\n\r\n{\"ok\":true}"), "{answer}");

        let received = fake.received();
        assert_eq!(received.len(), 1);
        let request = &received[0];
        assert!(request.is("POST", "/x/y"));
        assert_eq!(request.target, "/x/y?q=%20z&r=1");
        assert_eq!(request.header("x-test"), Some("one"));
        assert_eq!(request.query()["q"], " z");
        assert_eq!(request.body_text(), body);
        let form = request.form();
        assert_eq!(form["b"], "云 +");
        assert_eq!(form["c"], "\r\n\r\n");
    }

    #[tokio::test]
    async fn routes_answer_in_order_and_the_last_answer_repeats() {
        let fake = Routes::new()
            .on(
                "GET",
                "/a",
                [Answer::json(200, "a1"), Answer::json(200, "a2")],
            )
            .on("POST", "/a", [Answer::html(502, "<html>")])
            .start()
            .await;
        for expected in ["a1", "a2", "a2"] {
            let answer = exchange(fake.base_url(), &get("/a?x=1")).await;
            assert!(answer.ends_with(expected), "{answer}");
        }
        let answer = exchange(fake.base_url(), "POST /a HTTP/1.1\r\n\r\n").await;
        assert!(answer.starts_with("HTTP/1.1 502 ") && answer.contains("text/html"));
        let answer = exchange(fake.base_url(), &get("/b")).await;
        assert!(answer.starts_with("HTTP/1.1 404 "), "{answer}");
        assert!(answer.ends_with("no answer for GET /b"), "{answer}");
        assert_eq!(fake.received_at("GET", "/a").len(), 3);
        assert_eq!(fake.received().len(), 5);

        let fake = FakeHttp::in_order([Answer::json(503, "busy"), Answer::json(200, "ok")]).await;
        for expected in ["busy", "ok", "ok"] {
            let answer = exchange(fake.base_url(), &get("/")).await;
            assert!(answer.ends_with(expected), "{answer}");
        }
    }

    #[tokio::test]
    async fn never_holds_the_connection_until_the_fake_is_dropped() {
        let fake = FakeHttp::start(Answer::Never).await;
        let address = fake.base_url()[7..].trim_end_matches('/').to_owned();
        let mut stream = TcpStream::connect(&address).await.unwrap();
        stream.write_all(get("/").as_bytes()).await.unwrap();
        let mut byte = [0u8; 1];
        let silent = tokio::time::timeout(Duration::from_millis(50), stream.read(&mut byte)).await;
        assert!(silent.is_err(), "no answer");
        assert_eq!(fake.received().len(), 1, "but the request arrived");

        drop(fake);
        let closed = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut byte)).await;
        assert!(matches!(closed, Ok(Ok(0) | Err(_))), "{closed:?}");
    }

    #[tokio::test]
    async fn nothing_listens_at_a_closed_port() {
        let url = closed_port_url().await;
        let address = url.trim_start_matches("http://").trim_end_matches('/');
        assert!(TcpStream::connect(address).await.is_err());
    }
}
