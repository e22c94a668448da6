//! The WebSocket loop both protocols share: one reader, one writer; methods that wait run as tasks.
//! Only framing and error shapes differ between protocols ([`Framing`]).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::state::Conn;
use crate::wire_error::MethodError;
use crate::{faults, jsonrpc, legacy, methods, unconfirmed};

/// `SoftHardSemaphore(10, 20)`: 10 calls run, 10 more queue, the 21st is refused.
pub(crate) const MAX_RUNNING: usize = 10;
pub(crate) const MAX_IN_FLIGHT: usize = 20;
/// Unauthenticated frames longer than this close the socket with 1007.
const ANON_MAX: usize = 8192;
/// Authenticated frames longer than this close the socket with 1009.
const AUTH_MAX: usize = 65536;

/// What the reader should do after a frame.
pub(crate) enum Action {
    None,
    Close(u16, String),
    /// The call finished at once: its reply frame, if it has one, goes out now.
    Reply(Option<String>),
    /// The call went on as a task: it waits on something.
    Spawned(JoinHandle<()>),
}

enum Out {
    Text(String),
}

/// Per-connection dispatch context, protocol-agnostic.
pub(crate) struct Session {
    pub conn: Arc<Conn>,
    tx: mpsc::UnboundedSender<Out>,
    inflight: Arc<AtomicUsize>,
    running: Arc<Semaphore>,
    mute: Arc<AtomicBool>,
}

impl Session {
    pub(crate) fn send(&self, text: String) {
        send(&self.tx, &self.mute, text);
    }

    /// False when the connection already has [`MAX_IN_FLIGHT`] calls.
    pub(crate) fn has_room(&self) -> bool {
        self.inflight.load(Ordering::SeqCst) < MAX_IN_FLIGHT
    }

    /// Runs a method; `reply` makes the frame, if any. A method that finishes without waiting
    /// (most do: no rate-limit sleep, hashing or injected latency) is answered here, sparing a
    /// task and a cross-thread wake-up per call; one that waits goes on as its own task, so its
    /// reply may be overtaken, as the middleware's tasks are.
    pub(crate) fn start_call(
        &self,
        method: String,
        params: Vec<Value>,
        reply: impl FnOnce(&str, Result<Value, MethodError>) -> Option<String> + Send + 'static,
    ) -> Action {
        self.inflight.fetch_add(1, Ordering::SeqCst);
        let conn = self.conn.clone();
        let (inflight, running) = (self.inflight.clone(), self.running.clone());
        let mut call = Box::pin(async move {
            let permit = running.acquire_owned().await;
            let result = methods::call(&conn, &method, params).await;
            drop(permit);
            if let Some(d) = faults::latency(&conn.shared.faults()) {
                tokio::time::sleep(d).await;
            }
            inflight.fetch_sub(1, Ordering::SeqCst);
            reply(&method, result)
        });
        // A first poll with a no-op waker is safe: a pending call is polled again, with the
        // task's own waker, as soon as it is spawned.
        let mut first_poll = Context::from_waker(Waker::noop());
        match call.as_mut().poll(&mut first_poll) {
            Poll::Ready(frame) => Action::Reply(frame),
            Poll::Pending => {
                let (tx, mute) = (self.tx.clone(), self.mute.clone());
                Action::Spawned(tokio::spawn(async move {
                    if let Some(frame) = call.await {
                        send(&tx, &mute, frame);
                    }
                }))
            }
        }
    }

    /// Frame-size limits of `utils/limits.py`, checked before parsing.
    pub(crate) fn size_violation(&self, text: &str) -> Option<(u16, String)> {
        // Characters never outnumber bytes: a short frame needs no count (nor the state lock).
        if text.len() <= ANON_MAX {
            return None;
        }
        let len = text.chars().count();
        if self.conn.authenticated() {
            (len > AUTH_MAX).then(|| (1009, "Max message length is 64 kB".to_owned()))
        } else {
            (len > ANON_MAX).then(|| {
                (
                    1007,
                    "Anonymous connection max message length is 8 kB".to_owned(),
                )
            })
        }
    }
}

fn send(tx: &mpsc::UnboundedSender<Out>, mute: &AtomicBool, text: String) {
    if !mute.load(Ordering::SeqCst) {
        let _ = tx.send(Out::Text(text));
    }
}

/// Which protocol a socket speaks.
pub(crate) enum Framing {
    JsonRpc,
    Legacy { connected: bool },
}

impl Framing {
    fn on_text(&mut self, session: &Session, text: &str) -> Action {
        match self {
            Framing::JsonRpc => jsonrpc::on_text(session, text),
            Framing::Legacy { connected } => legacy::on_text(session, connected, text),
        }
    }
}

/// Serves one upgraded socket until it closes.
pub(crate) async fn run<S>(ws: WebSocketStream<S>, conn: Arc<Conn>, mut framing: Framing)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let shared = conn.shared.clone();
    let session = Session {
        conn,
        tx,
        inflight: Arc::new(AtomicUsize::new(0)),
        running: Arc::new(Semaphore::new(MAX_RUNNING)),
        mute: Arc::new(AtomicBool::new(false)),
    };
    let mut close = faults::close_on_connect(&shared.faults());
    let mut frames: u32 = 0;
    while close.is_none() {
        tokio::select! {
            out = rx.recv() => match out {
                Some(Out::Text(t)) => {
                    if sink.send(Message::text(t)).await.is_err() {
                        return;
                    }
                }
                None => return,
            },
            msg = stream.next() => match msg {
                Some(Err(tokio_tungstenite::tungstenite::Error::Capacity(_))) => {
                    close = Some((1009, unconfirmed::TRANSPORT_TOO_BIG.to_owned()));
                }
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(Message::Binary(_))) => {
                    close = Some((1003, "Invalid websocket message type: <WSMsgType.BINARY: 2>".into()));
                }
                Some(Ok(Message::Text(t))) => {
                    frames = frames.saturating_add(1);
                    let active = shared.faults();
                    if let Some((code, reason)) = faults::close_on_frame(&active) {
                        close = Some((code, reason));
                        continue;
                    }
                    let drop_now = faults::drop_at(&active, frames);
                    if drop_now {
                        session.mute.store(true, Ordering::SeqCst);
                    }
                    match framing.on_text(&session, t.as_str()) {
                        Action::Close(code, reason) => close = Some((code, reason)),
                        Action::Spawned(task) if drop_now => {
                            // The call takes effect, then the connection vanishes without a reply.
                            let _ = task.await;
                            return;
                        }
                        _ if drop_now => return,
                        Action::Reply(Some(frame)) => {
                            if sink.send(Message::text(frame)).await.is_err() {
                                return;
                            }
                        }
                        Action::Reply(None) | Action::Spawned(_) | Action::None => {}
                    }
                }
                Some(Ok(_)) => {}
            },
        }
    }
    if let Some((code, reason)) = close {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        };
        if sink.send(Message::Close(Some(frame))).await.is_err() {
            return;
        }
        // Read until the peer answers the close, so unread input does not turn our FIN into a RST.
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(Ok(m)) = stream.next().await {
                if m.is_close() {
                    break;
                }
            }
        })
        .await;
    }
}
