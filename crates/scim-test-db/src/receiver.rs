//! A webhook receiver for tests: a minimal HTTP/1.1 server on a local port, on threads of its
//! own, that records every request and answers as the test tells it.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: u64,
    /// `webhook-signature`.
    pub signature: String,
    /// The body as sent.
    pub raw: String,
    /// Whether the receiver answered 2xx.
    pub accepted: bool,
}

impl Delivery {
    /// The body as JSON (`Null` if it is not JSON).
    pub fn body(&self) -> Value {
        serde_json::from_str(&self.raw).unwrap_or(Value::Null)
    }
}

/// The receiver. It answers 500 while `failing` is above zero (counting it down), 204
/// otherwise, each after `delay_ms`; and never answers while `holding` is above zero (counting
/// it down: the request stays unanswered until the sender gives up or dies).
pub struct Receiver {
    /// Where to send: `http://127.0.0.1:<port>/hook`.
    pub url: String,
    got: Arc<Mutex<Vec<Delivery>>>,
    /// Requests still to answer with 500.
    pub failing: Arc<AtomicUsize>,
    /// Milliseconds to wait before answering.
    pub delay_ms: Arc<AtomicUsize>,
    /// Requests still to leave unanswered.
    pub holding: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct Knobs {
    got: Arc<Mutex<Vec<Delivery>>>,
    failing: Arc<AtomicUsize>,
    delay_ms: Arc<AtomicUsize>,
    holding: Arc<AtomicUsize>,
}

impl Receiver {
    /// Starts a receiver on a free local port.
    ///
    /// # Panics
    /// When no local port can be bound.
    #[expect(
        clippy::expect_used,
        reason = "a test helper: a failed step fails the test"
    )]
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a local port");
        let url = format!(
            "http://{}/hook",
            listener.local_addr().expect("a bound address")
        );
        let knobs = Knobs {
            got: Arc::new(Mutex::new(Vec::new())),
            failing: Arc::new(AtomicUsize::new(0)),
            delay_ms: Arc::new(AtomicUsize::new(0)),
            holding: Arc::new(AtomicUsize::new(0)),
        };
        let shared = knobs.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let knobs = shared.clone();
                std::thread::spawn(move || serve(stream, &knobs));
            }
        });
        Receiver {
            url,
            got: knobs.got,
            failing: knobs.failing,
            delay_ms: knobs.delay_ms,
            holding: knobs.holding,
        }
    }

    /// The requests answered 2xx, in arrival order.
    pub fn accepted(&self) -> Vec<Delivery> {
        self.all().into_iter().filter(|d| d.accepted).collect()
    }

    /// Every request answered or held, in arrival order.
    pub fn all(&self) -> Vec<Delivery> {
        self.got
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

fn take(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

fn serve(stream: TcpStream, knobs: &Knobs) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = HashMap::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
            }
        }
        let header = |name: &str| headers.get(name).cloned().unwrap_or_default();
        let length: usize = header("content-length").parse().unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let held = take(&knobs.holding);
        let delay = knobs.delay_ms.load(Ordering::SeqCst);
        if !held {
            std::thread::sleep(Duration::from_millis(u64::try_from(delay).unwrap_or(0)));
        }
        let accepted = !held && !take(&knobs.failing);
        knobs
            .got
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Delivery {
                id: header("webhook-id"),
                timestamp: header("webhook-timestamp").parse().unwrap_or(0),
                signature: header("webhook-signature"),
                raw: String::from_utf8_lossy(&body).into_owned(),
                accepted,
            });
        if held {
            // Never answered: the connection stays open until the sender goes away.
            let mut rest = Vec::new();
            let _ = reader.read_to_end(&mut rest);
            return;
        }
        let status = if accepted {
            "204 No Content"
        } else {
            "500 Internal Server Error"
        };
        let answer = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n");
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}
