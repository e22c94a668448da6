//! A TCP transport for `smb`: `TCP_NODELAY`, one write per message, and a look at session setup.
//!
//! smb-rs's stock `TcpTransport` sends the 4-byte direct-TCP header and each body buffer as
//! separate writes with Nagle's algorithm on, so every request waits for the peer's delayed ACK
//! (~40 ms on Linux loopback). Here the header and all buffers are gathered into one buffer and
//! written once on a `TCP_NODELAY` socket.
//!
//! The reader also notes the status and session flags of every SESSION_SETUP response it passes
//! up, so the probe can tell a guest or anonymous session from a real one even when `smb` fails
//! the setup with a generic error.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use smb::transport::{
    IoVec, SmbTransport, SmbTransportRead, SmbTransportWrite, TransportError, error::Result,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Direct-TCP frames are limited to 24 bits of length by MS-SMB2 2.1; refuse anything larger.
const MAX_FRAME: usize = 0x00FF_FFFF;
/// SMB2 header length.
const SMB2_HEADER: usize = 64;
/// SMB2 SESSION_SETUP command code.
const SESSION_SETUP: u16 = 0x0001;
/// SMB2_FLAGS_SERVER_TO_REDIR.
const SERVER_TO_REDIR: u32 = 0x0000_0001;
/// Session flags: SMB2_SESSION_FLAG_IS_GUEST | SMB2_SESSION_FLAG_IS_NULL.
pub(crate) const GUEST_OR_NULL: u16 = 0x0001 | 0x0002;
/// Nothing observed yet.
const NONE: u64 = u64::MAX;

/// What the reader saw of the last SESSION_SETUP response: `status << 16 | session_flags`.
#[derive(Debug)]
pub(crate) struct SetupObserver(AtomicU64);

impl Default for SetupObserver {
    fn default() -> Self {
        Self(AtomicU64::new(NONE))
    }
}

impl SetupObserver {
    /// The NTSTATUS and session flags of the last SESSION_SETUP response, if one was seen.
    pub(crate) fn last(&self) -> Option<(u32, u16)> {
        match self.0.load(Ordering::Acquire) {
            NONE => None,
            v => Some(((v >> 16) as u32, (v & 0xFFFF) as u16)),
        }
    }

    /// Looks at one received SMB2 message (without the 4-byte frame header).
    fn observe(&self, msg: &[u8]) {
        // Only plain SMB2 messages; transformed (encrypted) or compressed ones start otherwise.
        if msg.len() < SMB2_HEADER + 4 || msg[..4] != [0xFE, b'S', b'M', b'B'] {
            return;
        }
        let u16_at = |i: usize| u16::from_le_bytes([msg[i], msg[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([msg[i], msg[i + 1], msg[i + 2], msg[i + 3]]);
        if u16_at(12) != SESSION_SETUP || u32_at(16) & SERVER_TO_REDIR == 0 {
            return;
        }
        let status = u32_at(8);
        // An error response has no SessionFlags field (its body is an ERROR response).
        let flags = if u16_at(SMB2_HEADER) == 9 {
            u16_at(SMB2_HEADER + 2)
        } else {
            0
        };
        self.0.store(
            u64::from(status) << 16 | u64::from(flags),
            Ordering::Release,
        );
    }
}

/// The transport handed to `Connection::from_transport`.
pub(crate) struct NoDelayTcp {
    reader: Option<OwnedReadHalf>,
    writer: Option<OwnedWriteHalf>,
    peer: SocketAddr,
    observer: Arc<SetupObserver>,
}

impl NoDelayTcp {
    /// Wraps a connected stream, switching Nagle off.
    pub(crate) fn new(stream: TcpStream, observer: Arc<SetupObserver>) -> std::io::Result<Self> {
        stream.set_nodelay(true)?;
        let peer = stream.peer_addr()?;
        let (r, w) = stream.into_split();
        Ok(Self {
            reader: Some(r),
            writer: Some(w),
            peer,
            observer,
        })
    }

    fn map_io(e: std::io::Error) -> TransportError {
        match e.kind() {
            std::io::ErrorKind::UnexpectedEof
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::BrokenPipe => TransportError::NotConnected,
            _ => TransportError::IoError(e),
        }
    }
}

impl SmbTransport for NoDelayTcp {
    fn connect<'a>(
        &'a mut self,
        _server: &'a str,
        _address: SocketAddr,
    ) -> BoxFuture<'a, Result<()>> {
        // Handed over already connected (`Connection::from_transport`).
        Box::pin(async { Err(TransportError::AlreadyConnected) })
    }

    fn default_port(&self) -> u16 {
        445
    }

    fn split(self: Box<Self>) -> Result<(Box<dyn SmbTransportRead>, Box<dyn SmbTransportWrite>)> {
        let Self {
            reader,
            writer,
            peer,
            observer,
        } = *self;
        let read_half = Self {
            reader,
            writer: None,
            peer,
            observer: Arc::clone(&observer),
        };
        let write_half = Self {
            reader: None,
            writer,
            peer,
            observer,
        };
        Ok((Box::new(read_half), Box::new(write_half)))
    }

    fn remote_address(&self) -> Result<SocketAddr> {
        Ok(self.peer)
    }
}

impl SmbTransportWrite for NoDelayTcp {
    fn send_raw<'a>(&'a mut self, buf: &'a [u8]) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let w = self.writer.as_mut().ok_or(TransportError::NotConnected)?;
            w.write_all(buf).await.map_err(Self::map_io)
        })
    }

    /// One write per message: the frame header and every buffer gathered first.
    fn send<'a>(&'a mut self, data: &'a IoVec) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let len = data.total_size();
            if len > MAX_FRAME {
                return Err(TransportError::InvalidMessage);
            }
            let mut frame = Vec::with_capacity(4 + len);
            frame.extend_from_slice(&(len as u32).to_be_bytes());
            for buf in data.iter() {
                frame.extend_from_slice(buf);
            }
            let w = self.writer.as_mut().ok_or(TransportError::NotConnected)?;
            w.write_all(&frame).await.map_err(Self::map_io)
        })
    }
}

impl SmbTransportRead for NoDelayTcp {
    fn receive_exact<'a>(&'a mut self, out: &'a mut [u8]) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let r = self.reader.as_mut().ok_or(TransportError::NotConnected)?;
            r.read_exact(out).await.map(drop).map_err(Self::map_io)
        })
    }

    fn receive<'a>(&'a mut self) -> BoxFuture<'a, Result<Vec<u8>>> {
        Box::pin(async move {
            let r = self.reader.as_mut().ok_or(TransportError::NotConnected)?;
            let mut header = [0u8; 4];
            r.read_exact(&mut header).await.map_err(Self::map_io)?;
            // Zero type byte, then a 24-bit big-endian length (MS-SMB2 2.1).
            if header[0] != 0 {
                return Err(TransportError::InvalidMessage);
            }
            let len = u32::from_be_bytes(header) as usize;
            let mut msg = vec![0u8; len];
            r.read_exact(&mut msg).await.map_err(Self::map_io)?;
            self.observer.observe(&msg);
            Ok(msg)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup_response(status: u32, flags: u16) -> Vec<u8> {
        let mut m = vec![0u8; SMB2_HEADER + 8];
        m[..4].copy_from_slice(&[0xFE, b'S', b'M', b'B']);
        m[8..12].copy_from_slice(&status.to_le_bytes());
        m[12..14].copy_from_slice(&SESSION_SETUP.to_le_bytes());
        m[16..20].copy_from_slice(&SERVER_TO_REDIR.to_le_bytes());
        m[64..66].copy_from_slice(&9u16.to_le_bytes());
        m[66..68].copy_from_slice(&flags.to_le_bytes());
        m
    }

    #[test]
    fn observes_session_setup_responses_only() {
        let o = SetupObserver::default();
        assert_eq!(o.last(), None);
        o.observe(&setup_response(0, 0x0001));
        assert_eq!(o.last(), Some((0, 0x0001)));
        let mut not_setup = setup_response(0xC000_006D, 0);
        not_setup[12] = 3; // TREE_CONNECT
        o.observe(&not_setup);
        assert_eq!(o.last(), Some((0, 0x0001)));
        o.observe(&setup_response(0xC000_006D, 0));
        assert_eq!(o.last(), Some((0xC000_006D, 0)));
        o.observe(&[0xFD, b'S', b'M', b'B']);
        o.observe(&[]);
        assert_eq!(o.last(), Some((0xC000_006D, 0)));
    }

    #[tokio::test]
    async fn one_write_per_message() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let t = Box::new(NoDelayTcp::new(client, Arc::default()).unwrap());
        let (mut r, mut w) = t.split().unwrap();
        let mut v = IoVec::default();
        v.add_owned(vec![1, 2, 3]);
        v.add_owned(vec![4, 5]);
        w.send(&v).await.unwrap();
        let mut got = [0u8; 9];
        server.read_exact(&mut got).await.unwrap();
        assert_eq!(got, [0, 0, 0, 5, 1, 2, 3, 4, 5]);
        server.write_all(&[0, 0, 0, 2, 9, 8]).await.unwrap();
        assert_eq!(r.receive().await.unwrap(), vec![9, 8]);
        server.write_all(&[0x85, 0, 0, 0]).await.unwrap();
        assert!(r.receive().await.is_err());
    }
}
