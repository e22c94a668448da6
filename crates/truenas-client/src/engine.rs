//! The engine: one driver task owns the socket; handles send requests over a channel; replies are
//! matched by id through a map of oneshot senders; on close every pending call fails with the same
//! error (close code and reason included).
//!
//! The driver only sees [`Frame`]s through a boxed sink and stream, so unit tests drive it over
//! channels without a socket.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::sync::{Notify, OwnedSemaphorePermit, mpsc, oneshot};

use crate::codec::{Codec, Inbound, RemoteError};
use crate::error::{Error, Result, Stage};

/// A WebSocket frame as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A text frame.
    Text(String),
    /// A close frame: code and reason, if any.
    Close(Option<(u16, String)>),
    /// Anything else (ping, pong, binary): ignored.
    Other,
}

pub(crate) type FrameSink = Pin<Box<dyn Sink<Frame, Error = Error> + Send>>;
pub(crate) type FrameStream = Pin<Box<dyn Stream<Item = Result<Frame>> + Send>>;

/// How a call ended, before it is tied to its method name.
pub(crate) enum Failure {
    Remote(RemoteError),
    Local(Error),
}

pub(crate) type Reply = std::result::Result<Box<RawValue>, Failure>;

/// Calls sent and not yet answered: the reply channel and the in-flight slot, held until the
/// server answers (or the connection closes), even when the caller has given up: the server still
/// counts the call.
type Pending = HashMap<u64, (oneshot::Sender<Reply>, Option<OwnedSemaphorePermit>)>;

/// State shared between the driver and the handles.
pub(crate) struct Shared {
    closed: Mutex<Option<(Option<u16>, String)>>,
    is_closed: AtomicBool,
    /// Set after a successful login: enables keep-alive pings.
    pub authenticated: AtomicBool,
    pending: Mutex<Pending>,
    /// The write half. A caller that finds it free writes its frame itself (one task hop less);
    /// otherwise the frame goes through the driver, which batches writes under load.
    sink: tokio::sync::Mutex<FrameSink>,
    stop: Notify,
}

impl Shared {
    pub(crate) fn is_closed(&self) -> bool {
        self.is_closed.load(Ordering::Acquire)
    }

    /// The error every call on this (closed) connection gets.
    pub(crate) fn close_error(&self) -> Error {
        match self.closed.lock().ok().and_then(|g| g.clone()) {
            Some((code, reason)) => Error::closed(code, reason),
            None => Error::closed(None, "connection closed"),
        }
    }

    /// Marks the connection closed (the first reason wins) and fails every pending call with
    /// the same error.
    fn fail_all(&self, code: Option<u16>, reason: String) {
        let drained: Vec<_> = match self.pending.lock() {
            Ok(mut p) => {
                if let Ok(mut g) = self.closed.lock() {
                    g.get_or_insert((code, reason));
                }
                self.is_closed.store(true, Ordering::Release);
                p.drain().collect()
            }
            Err(_) => {
                self.is_closed.store(true, Ordering::Release);
                Vec::new()
            }
        };
        for (_, (tx, _permit)) in drained {
            let _ = tx.send(Err(Failure::Local(self.close_error())));
        }
        self.stop.notify_one();
    }

    fn pending_is_empty(&self) -> bool {
        self.pending.lock().map(|p| p.is_empty()).unwrap_or(true)
    }
}

/// A cloneable handle to one running connection. When the last handle is dropped, the driver
/// closes the socket (code 1000).
#[derive(Clone)]
pub(crate) struct Handle {
    tx: mpsc::Sender<String>,
    pub shared: Arc<Shared>,
    pub codec: Arc<dyn Codec>,
}

impl Handle {
    /// Sends one call and waits for its reply (no timeout here: the caller wraps it).
    pub(crate) async fn call(
        &self,
        id: u64,
        method: &str,
        params: &Value,
        permit: Option<OwnedSemaphorePermit>,
    ) -> Reply {
        let shared = &self.shared;
        let text = self.codec.encode_call(id, method, params);
        let (tx, rx) = oneshot::channel();
        {
            let Ok(mut p) = shared.pending.lock() else {
                return Err(Failure::Local(shared.close_error()));
            };
            // Checked under the lock that fail_all takes: no call is left behind by a close.
            if shared.is_closed() {
                return Err(Failure::Local(shared.close_error()));
            }
            p.insert(id, (tx, permit));
        }
        // If this future is dropped before the frame is handed over, forget the call (and free
        // its slot): the server never saw it.
        let mut unsent = Unsent {
            shared,
            id: Some(id),
        };
        let sent = match shared.sink.try_lock() {
            Ok(mut sink) => sink.send(Frame::Text(text)).await,
            Err(_) => self.tx.send(text).await.map_err(|_| shared.close_error()),
        };
        unsent.id = None;
        if let Err(e) = sent {
            shared.fail_all(
                None,
                format!("connection lost while sending: {}", chain(&e)),
            );
        }
        match rx.await {
            Ok(r) => r,
            Err(_) => Err(Failure::Local(shared.close_error())),
        }
    }

    /// `true` while the connection is usable.
    pub(crate) fn is_open(&self) -> bool {
        !self.shared.is_closed() && !self.tx.is_closed()
    }
}

/// Removes a registered call whose frame was never handed to the socket or the driver.
struct Unsent<'a> {
    shared: &'a Shared,
    id: Option<u64>,
}

impl Drop for Unsent<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id
            && let Ok(mut p) = self.shared.pending.lock()
        {
            p.remove(&id);
        }
    }
}

/// Runs the legacy `connect` → `connected` exchange before the driver starts.
pub(crate) async fn handshake(
    codec: &dyn Codec,
    sink: &mut FrameSink,
    stream: &mut FrameStream,
    limit: Duration,
) -> Result<()> {
    let Some(hello) = codec.hello() else {
        return Ok(());
    };
    let fut = async {
        sink.send(Frame::Text(hello)).await?;
        loop {
            match stream.next().await {
                Some(Ok(Frame::Text(t))) => match codec.decode(&t) {
                    Inbound::Connected => return Ok(()),
                    Inbound::Failed => {
                        return Err(Error::Handshake {
                            reason: "server answered {\"msg\":\"failed\"} (unsupported protocol version)".into(),
                        });
                    }
                    _ => continue,
                },
                Some(Ok(Frame::Close(c))) => {
                    let (code, reason) = c
                        .map(|(c, r)| (Some(c), r))
                        .unwrap_or((None, String::new()));
                    return Err(Error::closed(code, reason));
                }
                Some(Ok(Frame::Other)) => continue,
                Some(Err(e)) => return Err(e),
                None => return Err(Error::closed(None, "closed during handshake")),
            }
        }
    };
    tokio::time::timeout(limit, fut)
        .await
        .map_err(|_| Error::Timeout {
            stage: Stage::Handshake,
            after: limit,
            method: None,
        })?
}

/// Starts the driver task.
pub(crate) fn spawn(
    codec: Arc<dyn Codec>,
    sink: FrameSink,
    stream: FrameStream,
    keepalive: Option<Duration>,
) -> Handle {
    let (tx, rx) = mpsc::channel(64);
    let shared = Arc::new(Shared {
        closed: Mutex::new(None),
        is_closed: AtomicBool::new(false),
        authenticated: AtomicBool::new(false),
        pending: Mutex::new(HashMap::new()),
        sink: tokio::sync::Mutex::new(sink),
        stop: Notify::new(),
    });
    let handle = Handle {
        tx,
        shared: shared.clone(),
        codec: codec.clone(),
    };
    tokio::spawn(drive(codec, stream, rx, shared, keepalive));
    handle
}

const PING_ID_BASE: u64 = 1 << 62;
const BATCH: usize = 32;

async fn drive(
    codec: Arc<dyn Codec>,
    mut stream: FrameStream,
    mut rx: mpsc::Receiver<String>,
    shared: Arc<Shared>,
    keepalive: Option<Duration>,
) {
    let period = keepalive.unwrap_or(Duration::from_secs(3600));
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ping_seq = PING_ID_BASE;
    let (code, reason): (Option<u16>, String) = loop {
        tokio::select! {
            frame = stream.next() => match frame {
                Some(Ok(Frame::Text(t))) => dispatch(codec.as_ref(), &shared, &t),
                Some(Ok(Frame::Close(Some((c, r))))) => break (Some(c), r),
                Some(Ok(Frame::Close(None))) => break (None, "closed by server without a code".into()),
                Some(Ok(Frame::Other)) => {}
                Some(Err(e)) => break (None, format!("connection lost: {}", chain(&e))),
                None => break (None, "connection lost".into()),
            },
            text = rx.recv() => {
                let mut sink = shared.sink.lock().await;
                let Some(text) = text else {
                    let _ = sink.send(Frame::Close(Some((1000, String::new())))).await;
                    break (Some(1000), "client closed the connection".into());
                };
                let mut res = sink.feed(Frame::Text(text)).await;
                let mut n = 1;
                while res.is_ok() && n < BATCH {
                    match rx.try_recv() {
                        Ok(text) => { res = sink.feed(Frame::Text(text)).await; n += 1; }
                        Err(_) => break,
                    }
                }
                if res.is_ok() {
                    res = sink.flush().await;
                }
                if let Err(e) = res {
                    break (None, format!("connection lost while sending: {}", chain(&e)));
                }
            }
            () = shared.stop.notified() => break (None, "connection lost".into()),
            _ = ticker.tick(), if keepalive.is_some() => {
                // Only when logged in (pre-login pings count against the rate limit), and only
                // when idle: a busy connection is alive, and a ping must never take the 21st slot.
                if shared.authenticated.load(Ordering::Acquire) && shared.pending_is_empty() {
                    ping_seq += 1;
                    let text = codec.encode_call(ping_seq, "core.ping", &Value::Null);
                    tracing::trace!("keep-alive core.ping");
                    let mut sink = shared.sink.lock().await;
                    if let Err(e) = sink.send(Frame::Text(text)).await {
                        break (None, format!("connection lost while sending: {}", chain(&e)));
                    }
                }
            }
        }
    };
    tracing::debug!(?code, %reason, "connection closed");
    shared.fail_all(code, reason);
    rx.close();
}

/// An error and its sources, on one line.
fn chain(e: &Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

fn dispatch(codec: &dyn Codec, shared: &Shared, text: &str) {
    match codec.decode(text) {
        Inbound::Reply { id, outcome } => {
            let entry = shared.pending.lock().ok().and_then(|mut p| p.remove(&id));
            if let Some((tx, _permit)) = entry {
                let _ = tx.send(outcome.map_err(Failure::Remote));
            }
        }
        Inbound::Orphan(e) => {
            tracing::warn!(code = e.code, message = %e.message, "server error not tied to a call");
        }
        Inbound::Garbage(why) => tracing::warn!(%why, "unparsable frame from server"),
        Inbound::Connected | Inbound::Failed | Inbound::Ignore => {}
    }
}

/// A sink/stream pair over tokio channels, for tests: frames the engine sends arrive on the
/// returned receiver; frames pushed into the returned sender reach the engine.
#[cfg(test)]
pub(crate) fn channel_transport() -> (
    FrameSink,
    FrameStream,
    mpsc::UnboundedReceiver<Frame>,
    mpsc::UnboundedSender<Result<Frame>>,
) {
    let (out_tx, out_rx) = mpsc::unbounded_channel::<Frame>();
    let (in_tx, in_rx) = mpsc::unbounded_channel::<Result<Frame>>();
    let sink = futures_util::sink::unfold(out_tx, |tx, f: Frame| async move {
        tx.send(f)
            .map_err(|_| Error::closed(None, "test peer gone"))?;
        Ok::<_, Error>(tx)
    });
    let stream =
        futures_util::stream::unfold(
            in_rx,
            |mut rx| async move { rx.recv().await.map(|f| (f, rx)) },
        );
    (Box::pin(sink), Box::pin(stream), out_rx, in_tx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{JsonRpc, Legacy};

    fn id_of(text: &str) -> u64 {
        let v: Value = serde_json::from_str(text).unwrap();
        match &v["id"] {
            Value::String(s) => s.parse().unwrap(),
            other => other.as_u64().unwrap(),
        }
    }

    #[tokio::test]
    async fn out_of_order_replies_match_by_id() {
        let (sink, stream, mut out, inp) = channel_transport();
        let h = spawn(Arc::new(JsonRpc), sink, stream, None);
        let h1 = h.clone();
        let h2 = h.clone();
        let a = tokio::spawn(async move { h1.call(1, "a", &Value::Null, None).await });
        let b = tokio::spawn(async move { h2.call(2, "b", &Value::Null, None).await });
        let mut ids = vec![];
        for _ in 0..2 {
            let Some(Frame::Text(t)) = out.recv().await else {
                panic!()
            };
            ids.push(id_of(&t));
        }
        ids.sort();
        assert_eq!(ids, vec![1, 2]);
        inp.send(Ok(Frame::Text(
            r#"{"jsonrpc":"2.0","result":"B","id":2}"#.into(),
        )))
        .unwrap();
        inp.send(Ok(Frame::Text(
            r#"{"jsonrpc":"2.0","method":"collection_update","params":{}}"#.into(),
        )))
        .unwrap();
        inp.send(Ok(Frame::Text(
            r#"{"jsonrpc":"2.0","result":"A","id":1}"#.into(),
        )))
        .unwrap();
        let ra = a.await.unwrap().ok().unwrap();
        let rb = b.await.unwrap().ok().unwrap();
        assert_eq!(ra.get(), "\"A\"");
        assert_eq!(rb.get(), "\"B\"");
    }

    #[tokio::test]
    async fn close_fails_every_pending_call_with_the_same_error() {
        let (sink, stream, mut out, inp) = channel_transport();
        let h = spawn(Arc::new(JsonRpc), sink, stream, None);
        let mut calls = vec![];
        for i in 0..5 {
            let h = h.clone();
            calls.push(tokio::spawn(async move {
                h.call(i, "x", &Value::Null, None).await
            }));
        }
        for _ in 0..5 {
            out.recv().await.unwrap();
        }
        inp.send(Ok(Frame::Close(Some((1011, "'msg'".into())))))
            .unwrap();
        for c in calls {
            match c.await.unwrap() {
                Err(Failure::Local(Error::Closed { code, reason })) => {
                    assert_eq!(code, Some(1011));
                    assert_eq!(reason, "'msg'");
                }
                _ => panic!("expected close error"),
            }
        }
        assert!(!h.is_open());
        // later calls get the same error at once
        match h.call(99, "x", &Value::Null, None).await {
            Err(Failure::Local(e)) => assert!(e.hint().contains("legacy")),
            _ => panic!(),
        }
    }

    #[tokio::test]
    async fn a_timed_out_call_keeps_its_slot_until_the_server_answers() {
        let (sink, stream, mut out, inp) = channel_transport();
        let h = spawn(Arc::new(JsonRpc), sink, stream, None);
        let sem = Arc::new(tokio::sync::Semaphore::new(1));
        let permit = sem.clone().acquire_owned().await.unwrap();
        let r = tokio::time::timeout(
            Duration::from_millis(50),
            h.call(1, "slow", &Value::Null, Some(permit)),
        )
        .await;
        assert!(r.is_err(), "timed out");
        out.recv().await.unwrap();
        assert_eq!(sem.available_permits(), 0, "server still counts the call");
        inp.send(Ok(Frame::Text(
            r#"{"jsonrpc":"2.0","result":1,"id":1}"#.into(),
        )))
        .unwrap();
        let _slot = tokio::time::timeout(Duration::from_secs(1), sem.acquire())
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn remote_errors_reach_the_caller() {
        let (sink, stream, mut out, inp) = channel_transport();
        let h = spawn(Arc::new(JsonRpc), sink, stream, None);
        let c = tokio::spawn({
            let h = h.clone();
            async move { h.call(5, "user.query", &Value::Null, None).await }
        });
        out.recv().await.unwrap();
        inp.send(Ok(Frame::Text(r#"{"jsonrpc":"2.0","error":{"code":-32001,"message":"Method call error","data":{"error":13,"errname":"EACCES","reason":"[EACCES] Not authorized","trace":null,"extra":null}},"id":5}"#.into()))).unwrap();
        match c.await.unwrap() {
            Err(Failure::Remote(e)) => {
                let e = e.into_error("user.query");
                assert!(e.is_auth());
            }
            _ => panic!(),
        }
    }

    #[tokio::test]
    async fn legacy_handshake_then_calls() {
        let (mut sink, mut stream, mut out, inp) = channel_transport();
        let codec: Arc<dyn Codec> = Arc::new(Legacy);
        inp.send(Ok(Frame::Text(
            r#"{"msg":"connected","session":"s"}"#.into(),
        )))
        .unwrap();
        handshake(
            codec.as_ref(),
            &mut sink,
            &mut stream,
            Duration::from_secs(1),
        )
        .await
        .unwrap();
        let Some(Frame::Text(hello)) = out.recv().await else {
            panic!()
        };
        assert!(hello.contains(r#""msg":"connect""#));
        let h = spawn(codec, sink, stream, None);
        let c = tokio::spawn({
            let h = h.clone();
            async move {
                h.call(3, "auth.login", &serde_json::json!(["u", "p"]), None)
                    .await
            }
        });
        let Some(Frame::Text(t)) = out.recv().await else {
            panic!()
        };
        assert!(t.contains(r#""msg":"method""#));
        inp.send(Ok(Frame::Text(
            r#"{"msg":"result","id":"3","result":true}"#.into(),
        )))
        .unwrap();
        assert_eq!(c.await.unwrap().ok().unwrap().get(), "true");
    }

    #[tokio::test]
    async fn legacy_handshake_failure_and_timeout() {
        let (mut sink, mut stream, _out, inp) = channel_transport();
        inp.send(Ok(Frame::Text(r#"{"msg":"failed","version":"1"}"#.into())))
            .unwrap();
        let e = handshake(&Legacy, &mut sink, &mut stream, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Handshake { .. }));
        let (mut sink, mut stream, _out, _inp) = channel_transport();
        let e = handshake(&Legacy, &mut sink, &mut stream, Duration::from_millis(50))
            .await
            .unwrap_err();
        assert!(e.is_timeout());
    }

    #[tokio::test(start_paused = true)]
    async fn keepalive_only_when_authenticated() {
        let (sink, stream, mut out, _inp) = channel_transport();
        let h = spawn(
            Arc::new(JsonRpc),
            sink,
            stream,
            Some(Duration::from_secs(20)),
        );
        tokio::time::sleep(Duration::from_secs(65)).await;
        assert!(out.try_recv().is_err(), "pinged before login");
        h.shared.authenticated.store(true, Ordering::Release);
        tokio::time::sleep(Duration::from_secs(21)).await;
        let Ok(Frame::Text(t)) = out.try_recv() else {
            panic!("no keep-alive")
        };
        assert!(t.contains("core.ping"));
    }

    #[tokio::test]
    async fn dropping_all_handles_closes_the_socket() {
        let (sink, stream, mut out, _inp) = channel_transport();
        let h = spawn(Arc::new(JsonRpc), sink, stream, None);
        let shared = h.shared.clone();
        drop(h);
        assert_eq!(
            out.recv().await,
            Some(Frame::Close(Some((1000, String::new()))))
        );
        tokio::task::yield_now().await;
        assert!(shared.is_closed());
    }
}
