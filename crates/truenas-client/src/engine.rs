//! The engine: one socket, many concurrent calls, replies matched by id through a map of oneshot
//! senders; on close every pending call fails with the same error (close code and reason included).
//!
//! Whoever holds the socket reads it. A caller that finds the socket free writes its own frame and
//! reads until its reply comes, dispatching any other reply on the way: a lone caller's round trip
//! is one write and one read, like a raw WebSocket's, with no task hop. A caller that finds the
//! socket taken queues its frame for the holder to write and waits. A holder that leaves with calls
//! still unanswered wakes the driver task, which reads on their behalf; the driver also watches an
//! idle connection (close frames, keep-alive) after a quiet spell.
//!
//! The engine only sees [`Frame`]s through a boxed sink-and-stream, so unit tests drive it over
//! channels without a socket.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::sync::{Notify, OwnedSemaphorePermit, mpsc, oneshot};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::codec::{Codec, Inbound, RemoteError};
use crate::error::{Error, Result, Stage};

/// A WebSocket frame as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A text frame (tungstenite's buffer, shared rather than copied).
    Text(Utf8Bytes),
    /// A close frame: code and reason, if any.
    Close(Option<(u16, String)>),
    /// Anything else (ping, pong, binary): ignored.
    Other,
}

/// Both directions of one WebSocket, as frames.
pub(crate) trait FrameIo:
    Sink<Frame, Error = Error> + Stream<Item = Result<Frame>> + Send
{
}
impl<T> FrameIo for T where T: Sink<Frame, Error = Error> + Stream<Item = Result<Frame>> + Send {}

pub(crate) type Socket = Pin<Box<dyn FrameIo>>;

/// How a call ended, before it is tied to its method name.
pub(crate) enum Failure {
    /// Boxed: errors are rare, and a small `Reply` is cheap to pass around.
    Remote(Box<RemoteError>),
    Local(Error),
}

pub(crate) type Reply = std::result::Result<Box<RawValue>, Failure>;

/// Why a connection ended: the close code, if any, and the reason.
type Ended = (Option<u16>, String);

/// Calls sent and not yet answered: the reply channel and the in-flight slot, held until the
/// server answers (or the connection closes), even when the caller has given up: the server still
/// counts the call.
type Pending = HashMap<u64, (oneshot::Sender<Reply>, Option<OwnedSemaphorePermit>)>;

/// What the reader holds: the socket, and the frames callers queued while it was taken.
struct Wire {
    socket: Socket,
    queued: mpsc::UnboundedReceiver<String>,
}

/// After this long without a call the driver takes the socket to watch the idle connection.
const QUIET: Duration = Duration::from_secs(1);
const PING_ID_BASE: u64 = 1 << 62;
/// Queued frames written per flush.
const BATCH: usize = 32;

/// State shared between the driver and the handles.
pub(crate) struct Shared {
    closed: Mutex<Option<Ended>>,
    is_closed: AtomicBool,
    /// Set after a successful login: enables keep-alive pings.
    pub authenticated: AtomicBool,
    pending: Mutex<Pending>,
    wire: tokio::sync::Mutex<Wire>,
    queue: mpsc::UnboundedSender<String>,
    /// Calls started so far: tells the driver whether the connection was quiet.
    calls: AtomicU64,
    /// Every handle is gone: close the socket.
    handles_gone: AtomicBool,
    /// Wakes the driver: calls left without a reader, the connection closed, or handles gone.
    wake_driver: Notify,
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
    fn fail_all(&self, (code, reason): Ended) {
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
        self.wake_driver.notify_one();
    }

    fn pending_is_empty(&self) -> bool {
        self.pending.lock().map(|p| p.is_empty()).unwrap_or(true)
    }
}

/// The socket, held. Dropping it lets go of the socket first, then hands any call still waiting
/// for its reply to the driver.
struct Reader<'a> {
    shared: &'a Shared,
    wire: Option<tokio::sync::MutexGuard<'a, Wire>>,
}

/// What one [`Reader::step`] did.
enum Step {
    Read,
    Wrote,
}

impl<'a> Reader<'a> {
    fn new(shared: &'a Shared, wire: tokio::sync::MutexGuard<'a, Wire>) -> Self {
        Reader {
            shared,
            wire: Some(wire),
        }
    }

    fn wire(&mut self) -> Result<&mut Wire> {
        self.wire
            .as_deref_mut()
            .ok_or_else(|| Error::closed(None, "socket released"))
    }

    /// Writes any frame left half-sent by a caller that gave up.
    async fn flush(&mut self) -> std::result::Result<(), Ended> {
        let wire = self.wire().map_err(|e| (None, e.to_string()))?;
        wire.socket.flush().await.map_err(lost_sending)
    }

    /// Closes the socket (1000) for a client that has let go of every handle.
    async fn close(&mut self) -> Ended {
        if let Ok(wire) = self.wire() {
            let _ = wire
                .socket
                .send(Frame::Close(Some((1000, String::new()))))
                .await;
        }
        (Some(1000), "client closed the connection".into())
    }

    /// Reads one frame and dispatches it, or writes the frames callers queued.
    async fn step(&mut self, codec: &dyn Codec) -> std::result::Result<Step, Ended> {
        let shared = self.shared;
        let wire = self.wire().map_err(|e| (None, e.to_string()))?;
        tokio::select! {
            biased;
            frame = wire.socket.next() => match frame {
                Some(Ok(Frame::Text(t))) => {
                    dispatch(codec, shared, &t);
                    Ok(Step::Read)
                }
                Some(Ok(Frame::Other)) => Ok(Step::Read),
                Some(Ok(Frame::Close(Some((c, r))))) => Err((Some(c), r)),
                Some(Ok(Frame::Close(None))) => Err((None, "closed by server without a code".into())),
                Some(Err(e)) => Err((None, format!("connection lost: {}", chain(&e)))),
                None => Err((None, "connection lost".into())),
            },
            Some(text) = wire.queued.recv() => {
                wire.socket.feed(Frame::Text(text.into())).await.map_err(lost_sending)?;
                for _ in 1..BATCH {
                    let Ok(text) = wire.queued.try_recv() else { break };
                    wire.socket.feed(Frame::Text(text.into())).await.map_err(lost_sending)?;
                }
                wire.socket.flush().await.map_err(lost_sending)?;
                Ok(Step::Wrote)
            }
        }
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        // Let go first: a call registered before this check found the socket taken and relies
        // on it (see `Handle::call`).
        drop(self.wire.take());
        if !self.shared.pending_is_empty() {
            self.shared.wake_driver.notify_one();
        }
    }
}

fn lost_sending(e: Error) -> Ended {
    (
        None,
        format!("connection lost while sending: {}", chain(&e)),
    )
}

/// Tells the driver to close the socket when the last handle goes.
struct Closer(Arc<Shared>);

impl Drop for Closer {
    fn drop(&mut self) {
        self.0.handles_gone.store(true, Ordering::Release);
        self.0.wake_driver.notify_one();
    }
}

/// A cloneable handle to one running connection. When the last handle is dropped, the driver
/// closes the socket (code 1000).
#[derive(Clone)]
pub(crate) struct Handle {
    pub shared: Arc<Shared>,
    pub codec: Arc<dyn Codec>,
    _closer: Arc<Closer>,
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
        let shared = &*self.shared;
        let text = self.codec.encode_call(id, method, params);
        let (tx, mut rx) = oneshot::channel();
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
        shared.calls.fetch_add(1, Ordering::Relaxed);
        // Registered before looking at the socket: whoever holds it now sees this call when it
        // lets go, and hands it to the driver.
        let Ok(wire) = shared.wire.try_lock() else {
            if shared.queue.send(text).is_err() {
                forget(shared, id);
                return Err(Failure::Local(shared.close_error()));
            }
            return settle(shared, rx.await);
        };
        let mut reader = Reader::new(shared, wire);
        // If this future is dropped before the frame is handed over, forget the call (and free
        // its slot): the server never saw it.
        let mut unsent = Unsent {
            shared,
            id: Some(id),
        };
        let sent = match reader.wire() {
            Ok(wire) => match wire.socket.feed(Frame::Text(text.into())).await {
                Ok(()) => {
                    unsent.id = None;
                    wire.socket.flush().await
                }
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        drop(unsent);
        if let Err(e) = sent {
            shared.fail_all(lost_sending(e));
        }
        // Only the socket's holder answers calls, so the reply is checked after each frame rather
        // than awaited: awaiting would make this task wake itself, and its next wait spurious.
        loop {
            match rx.try_recv() {
                Ok(reply) => return reply,
                Err(oneshot::error::TryRecvError::Closed) => {
                    return Err(Failure::Local(shared.close_error()));
                }
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            if let Err(ended) = reader.step(self.codec.as_ref()).await {
                shared.fail_all(ended);
            }
        }
    }

    /// `true` while the connection is usable.
    pub(crate) fn is_open(&self) -> bool {
        !self.shared.is_closed()
    }
}

/// The reply a caller got, or the connection's close error when its call was dropped unanswered.
fn settle(shared: &Shared, got: std::result::Result<Reply, oneshot::error::RecvError>) -> Reply {
    match got {
        Ok(reply) => reply,
        Err(_) => Err(Failure::Local(shared.close_error())),
    }
}

fn forget(shared: &Shared, id: u64) {
    if let Ok(mut p) = shared.pending.lock() {
        p.remove(&id);
    }
}

/// Removes a registered call whose frame was never handed to the socket.
struct Unsent<'a> {
    shared: &'a Shared,
    id: Option<u64>,
}

impl Drop for Unsent<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            forget(self.shared, id);
        }
    }
}

/// Runs the legacy `connect` → `connected` exchange before the driver starts.
pub(crate) async fn handshake(
    codec: &dyn Codec,
    socket: &mut Socket,
    limit: Duration,
) -> Result<()> {
    let Some(hello) = codec.hello() else {
        return Ok(());
    };
    let fut = async {
        socket.send(Frame::Text(hello.into())).await?;
        loop {
            match socket.next().await {
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
pub(crate) fn spawn(codec: Arc<dyn Codec>, socket: Socket, keepalive: Option<Duration>) -> Handle {
    let (queue, queued) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        closed: Mutex::new(None),
        is_closed: AtomicBool::new(false),
        authenticated: AtomicBool::new(false),
        pending: Mutex::new(HashMap::new()),
        wire: tokio::sync::Mutex::new(Wire { socket, queued }),
        queue,
        calls: AtomicU64::new(0),
        handles_gone: AtomicBool::new(false),
        wake_driver: Notify::new(),
    });
    tokio::spawn(drive(codec.clone(), shared.clone(), keepalive));
    Handle {
        _closer: Arc::new(Closer(shared.clone())),
        shared,
        codec,
    }
}

/// The driver: dormant while callers read for themselves; reads for calls a caller left behind;
/// watches the connection once it has been quiet; closes the socket when the handles are gone.
async fn drive(codec: Arc<dyn Codec>, shared: Arc<Shared>, keepalive: Option<Duration>) {
    let period = keepalive.unwrap_or(Duration::from_secs(3600));
    let quiet = QUIET.min(period);
    let mut ping_seq = PING_ID_BASE;
    let ended: Ended = 'life: loop {
        let seen = shared.calls.load(Ordering::Relaxed);
        tokio::select! {
            () = shared.wake_driver.notified() => {}
            () = tokio::time::sleep(quiet) => {}
        }
        if shared.is_closed() {
            return;
        }
        let closing = shared.handles_gone.load(Ordering::Acquire);
        if !closing && shared.pending_is_empty() && shared.calls.load(Ordering::Relaxed) != seen {
            continue; // callers are active and read for themselves
        }
        let wire = if closing {
            shared.wire.lock().await
        } else {
            match shared.wire.try_lock() {
                Ok(wire) => wire,
                // A caller holds the socket: it hands over any call it leaves behind.
                Err(_) => continue,
            }
        };
        let mut reader = Reader::new(&shared, wire);
        if closing {
            break reader.close().await;
        }
        if let Err(ended) = reader.flush().await {
            break ended;
        }
        let mut served = !shared.pending_is_empty();
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                () = shared.wake_driver.notified() => {
                    if shared.is_closed() {
                        return;
                    }
                    if shared.handles_gone.load(Ordering::Acquire) {
                        break 'life reader.close().await;
                    }
                }
                step = reader.step(codec.as_ref()) => match step {
                    Ok(Step::Wrote) => served = true,
                    Ok(Step::Read) => {}
                    Err(ended) => break 'life ended,
                },
                _ = ticker.tick(), if keepalive.is_some() => {
                    // Only when logged in (pre-login pings count against the rate limit), and
                    // only when idle: a ping must never take the 21st slot.
                    if shared.authenticated.load(Ordering::Acquire) && shared.pending_is_empty() {
                        ping_seq += 1;
                        let text = codec.encode_call(ping_seq, "core.ping", &Value::Null);
                        tracing::trace!("keep-alive core.ping");
                        let sent = match reader.wire() {
                            Ok(wire) => wire.socket.send(Frame::Text(text.into())).await,
                            Err(e) => Err(e),
                        };
                        if let Err(e) = sent {
                            break 'life lost_sending(e);
                        }
                    }
                }
            }
            // Calls are flowing again: let the next caller read for itself.
            if served && shared.pending_is_empty() {
                break;
            }
        }
    };
    tracing::debug!(code = ?ended.0, reason = %ended.1, "connection closed");
    shared.fail_all(ended);
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
                let _ = tx.send(outcome.map_err(|e| Failure::Remote(Box::new(e))));
            }
        }
        Inbound::Orphan(e) => {
            tracing::warn!(code = e.code, message = %e.message, "server error not tied to a call");
        }
        Inbound::Garbage(why) => tracing::warn!(%why, "unparsable frame from server"),
        Inbound::Connected | Inbound::Failed | Inbound::Ignore => {}
    }
}

/// A socket over tokio channels, for tests: frames the engine sends arrive on the returned
/// receiver; frames pushed into the returned sender reach the engine.
#[cfg(test)]
pub(crate) fn channel_transport() -> (
    Socket,
    mpsc::UnboundedReceiver<Frame>,
    mpsc::UnboundedSender<Result<Frame>>,
) {
    use std::task::{Context, Poll};

    struct Joined<Si, St> {
        sink: Pin<Box<Si>>,
        stream: Pin<Box<St>>,
    }
    impl<Si: Sink<Frame, Error = Error>, St> Sink<Frame> for Joined<Si, St> {
        type Error = Error;
        fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
            self.sink.as_mut().poll_ready(cx)
        }
        fn start_send(mut self: Pin<&mut Self>, f: Frame) -> Result<()> {
            self.sink.as_mut().start_send(f)
        }
        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
            self.sink.as_mut().poll_flush(cx)
        }
        fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
            self.sink.as_mut().poll_close(cx)
        }
    }
    impl<Si, St: Stream> Stream for Joined<Si, St> {
        type Item = St::Item;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<St::Item>> {
            self.stream.as_mut().poll_next(cx)
        }
    }

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
    let joined = Joined {
        sink: Box::pin(sink),
        stream: Box::pin(stream),
    };
    (Box::pin(joined), out_rx, in_tx)
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

    /// Starts call `id` (no params) on a task of its own.
    fn spawn_call(h: &Handle, id: u64, method: &'static str) -> tokio::task::JoinHandle<Reply> {
        let h = h.clone();
        tokio::spawn(async move { h.call(id, method, &Value::Null, None).await })
    }

    /// The id of the next text frame the engine writes.
    async fn next_sent_id(out: &mut mpsc::UnboundedReceiver<Frame>) -> u64 {
        match out.recv().await {
            Some(Frame::Text(t)) => id_of(&t),
            other => panic!("expected a call frame, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn out_of_order_replies_match_by_id() {
        let (socket, mut out, inp) = channel_transport();
        let h = spawn(Arc::new(JsonRpc), socket, None);
        let a = spawn_call(&h, 1, "a");
        let b = spawn_call(&h, 2, "b");
        let mut ids = vec![next_sent_id(&mut out).await, next_sent_id(&mut out).await];
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
    async fn the_caller_holding_the_socket_writes_queued_calls_and_hands_over_their_replies() {
        let (socket, mut out, inp) = channel_transport();
        let h = spawn(Arc::new(JsonRpc), socket, None);
        let a = spawn_call(&h, 1, "a");
        assert_eq!(next_sent_id(&mut out).await, 1);
        // The first caller now holds the socket, waiting for its reply: the second call queues,
        // and the first caller writes it.
        let b = spawn_call(&h, 2, "b");
        assert_eq!(next_sent_id(&mut out).await, 2);
        inp.send(Ok(Frame::Text(
            r#"{"jsonrpc":"2.0","result":"A","id":1}"#.into(),
        )))
        .unwrap();
        assert_eq!(a.await.unwrap().ok().unwrap().get(), "\"A\"");
        // The first caller has left and woken the driver, which reads the second reply (well
        // before its quiet-spell check would).
        inp.send(Ok(Frame::Text(
            r#"{"jsonrpc":"2.0","result":"B","id":2}"#.into(),
        )))
        .unwrap();
        let rb = tokio::time::timeout(QUIET / 4, b).await;
        assert_eq!(rb.unwrap().unwrap().ok().unwrap().get(), "\"B\"");
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_notices_the_server_closing() {
        let (socket, _out, inp) = channel_transport();
        let h = spawn(Arc::new(JsonRpc), socket, None);
        inp.send(Ok(Frame::Close(Some((1008, "not allowed".into())))))
            .unwrap();
        tokio::time::sleep(QUIET * 2).await;
        assert!(!h.is_open(), "close frame unread on an idle connection");
        match h.call(1, "x", &Value::Null, None).await {
            Err(Failure::Local(Error::Closed { code, .. })) => assert_eq!(code, Some(1008)),
            _ => panic!("expected the close error"),
        }
    }

    #[tokio::test]
    async fn close_fails_every_pending_call_with_the_same_error() {
        let (socket, mut out, inp) = channel_transport();
        let h = spawn(Arc::new(JsonRpc), socket, None);
        let calls: Vec<_> = (0..5).map(|i| spawn_call(&h, i, "x")).collect();
        for _ in 0..5 {
            next_sent_id(&mut out).await;
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
        let (socket, mut out, inp) = channel_transport();
        let h = spawn(Arc::new(JsonRpc), socket, None);
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
        let (socket, mut out, inp) = channel_transport();
        let h = spawn(Arc::new(JsonRpc), socket, None);
        let c = spawn_call(&h, 5, "user.query");
        assert_eq!(next_sent_id(&mut out).await, 5);
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
        let (mut socket, mut out, inp) = channel_transport();
        let codec: Arc<dyn Codec> = Arc::new(Legacy);
        inp.send(Ok(Frame::Text(
            r#"{"msg":"connected","session":"s"}"#.into(),
        )))
        .unwrap();
        handshake(codec.as_ref(), &mut socket, Duration::from_secs(1))
            .await
            .unwrap();
        let Some(Frame::Text(hello)) = out.recv().await else {
            panic!()
        };
        assert!(hello.contains(r#""msg":"connect""#));
        let h = spawn(codec, socket, None);
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
        let (mut socket, _out, inp) = channel_transport();
        inp.send(Ok(Frame::Text(r#"{"msg":"failed","version":"1"}"#.into())))
            .unwrap();
        let e = handshake(&Legacy, &mut socket, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Handshake { .. }));
        let (mut socket, _out, _inp) = channel_transport();
        let e = handshake(&Legacy, &mut socket, Duration::from_millis(50))
            .await
            .unwrap_err();
        assert!(e.is_timeout());
    }

    #[tokio::test(start_paused = true)]
    async fn keepalive_only_when_authenticated() {
        let (socket, mut out, _inp) = channel_transport();
        let h = spawn(Arc::new(JsonRpc), socket, Some(Duration::from_secs(20)));
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
        let (socket, mut out, _inp) = channel_transport();
        let h = spawn(Arc::new(JsonRpc), socket, None);
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
