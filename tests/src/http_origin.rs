//! An HTTP origin served from the test crate: `GET /api/users/{id}` (200
//! with JSON, or 404) and `PUT /api/users/{id}`, over kept-alive HTTP/1.1,
//! with what the origin tests need to observe and to break it: a count of
//! requests, a gate that holds every request until the test opens it (a
//! stalled origin, released by a signal, not a sleep), and a switch that
//! makes it answer 503.

use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use anyhow::Result;

#[derive(Default)]
struct State {
    users: Mutex<HashMap<String, String>>,
    requests: AtomicU64,
    failing: AtomicBool,
    gate_closed: Mutex<bool>,
    gate: Condvar,
    stop: AtomicBool,
}

/// The running origin; stops accepting when dropped.
pub struct HttpOrigin {
    state: Arc<State>,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl HttpOrigin {
    /// Starts on a free port.
    pub fn start() -> Result<HttpOrigin> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(State::default());
        let accept = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accept.stop.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let state = Arc::clone(&accept);
                std::thread::spawn(move || serve(&state, stream));
            }
        });
        Ok(HttpOrigin { state, port })
    }

    /// The base URL for `[[origins]] http`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}/api/", self.port)
    }

    /// Adds or replaces a user (its JSON).
    pub fn put(&self, id: &str, json: &str) {
        if let Ok(mut users) = self.state.users.lock() {
            users.insert(id.to_owned(), json.to_owned());
        }
    }

    /// The JSON it holds for `id`.
    pub fn user(&self, id: &str) -> Option<String> {
        self.state.users.lock().ok()?.get(id).cloned()
    }

    /// Requests received so far.
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// Holds every request (after counting it) until [`HttpOrigin::open`].
    pub fn close_gate(&self) {
        if let Ok(mut closed) = self.state.gate_closed.lock() {
            *closed = true;
        }
    }

    /// Releases the held requests.
    pub fn open(&self) {
        if let Ok(mut closed) = self.state.gate_closed.lock() {
            *closed = false;
        }
        self.state.gate.notify_all();
    }

    /// Answers 503 to everything while `on`.
    pub fn fail(&self, on: bool) {
        self.state.failing.store(on, Ordering::SeqCst);
    }
}

impl Drop for HttpOrigin {
    fn drop(&mut self) {
        self.open();
        self.state.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(state: &State, stream: TcpStream) {
    let Ok(mut out) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Some(request) = crate::http1::read_request(&mut reader) {
        state.requests.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut closed) = state.gate_closed.lock() {
            while *closed {
                closed = match state.gate.wait(closed) {
                    Ok(c) => c,
                    Err(_) => return,
                };
            }
        }
        let (status, reply) = if state.failing.load(Ordering::SeqCst) {
            ("503 Service Unavailable", String::from("down"))
        } else {
            answer(state, &request.method, &request.target, &request.body)
        };
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{reply}",
            reply.len()
        );
        if out.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

fn answer(state: &State, method: &str, target: &str, body: &[u8]) -> (&'static str, String) {
    let Some(id) = target.strip_prefix("/api/users/") else {
        return ("404 Not Found", String::from("{}"));
    };
    let Ok(mut users) = state.users.lock() else {
        return ("500 Internal Server Error", String::new());
    };
    match method {
        "GET" => match users.get(id) {
            Some(json) => ("200 OK", json.clone()),
            None => ("404 Not Found", String::from("{}")),
        },
        "PUT" => {
            users.insert(id.to_owned(), String::from_utf8_lossy(body).into_owned());
            ("204 No Content", String::new())
        }
        _ => ("405 Method Not Allowed", String::new()),
    }
}
