//! Socket framing: every message in both directions is a 16-byte header
//! (VPP's `msgbuf_t`) followed by the payload. Only bytes 8..11 (the
//! big-endian payload length) mean anything to a reader; VPP leaves an
//! internal pointer in bytes 0..7, so they are ignored, as are 12..15.

use std::fmt;
use std::io::{self, Read, Write};

pub const HEADER_LEN: usize = 16;

/// Largest payload accepted by default. VPP's biggest message here, the
/// handshake reply with the whole message table, is some hundreds of KiB.
pub const DEFAULT_MAX_PAYLOAD: usize = 64 * 1024 * 1024;

#[derive(Debug)]
pub enum FrameError {
    /// The peer closed the stream (between frames when `partial` is false).
    Eof {
        partial: bool,
    },
    /// The header announces a payload larger than the configured maximum:
    /// the stream is not a VPP API stream or is corrupt.
    TooLarge {
        len: usize,
        max: usize,
    },
    Io(io::Error),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Eof { partial: false } => write!(f, "connection closed by peer"),
            FrameError::Eof { partial: true } => {
                write!(f, "connection closed by peer in the middle of a message")
            }
            FrameError::TooLarge { len, max } => write!(
                f,
                "message header announces {len} payload bytes, more than the {max}-byte limit \
                 (is this VPP's API socket?)"
            ),
            FrameError::Io(e) => write!(f, "socket error: {e}"),
        }
    }
}

impl std::error::Error for FrameError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FrameError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// The 16-byte header for a payload of `len` bytes, as a client sends it.
pub fn header(len: u32) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[8..12].copy_from_slice(&len.to_be_bytes());
    h
}

/// Header plus payload in one buffer.
///
/// Panics never; a payload over 4 GiB cannot exist here (messages are built
/// from bounded fields), so its length is clamped.
pub fn encode_frame(payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&header(len));
    out.extend_from_slice(payload);
    out
}

/// Writes one frame with a single `write_all` (VPP accepts messages split
/// or merged across writes, but one write keeps a frame together).
pub fn write_frame<W: Write>(w: &mut W, payload: &[u8]) -> io::Result<()> {
    w.write_all(&encode_frame(payload))
}

/// The payload length announced by a header.
pub fn payload_len(header: &[u8; HEADER_LEN]) -> usize {
    u32::from_be_bytes([header[8], header[9], header[10], header[11]]) as usize
}

/// Reads exactly one frame and returns its payload. Read timeouts of the
/// underlying stream surface as `FrameError::Io` with kind `WouldBlock` or
/// `TimedOut`.
pub fn read_frame<R: Read>(r: &mut R, max_payload: usize) -> Result<Vec<u8>, FrameError> {
    let mut hdr = [0u8; HEADER_LEN];
    read_full(r, &mut hdr, false)?;
    let len = payload_len(&hdr);
    if len > max_payload {
        return Err(FrameError::TooLarge { len, max: max_payload });
    }
    let mut payload = vec![0u8; len];
    read_full(r, &mut payload, true)?;
    Ok(payload)
}

fn read_full<R: Read>(r: &mut R, buf: &mut [u8], in_frame: bool) -> Result<(), FrameError> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => return Err(FrameError::Eof { partial: in_frame || filled > 0 }),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
    Ok(())
}

/// Reassembles frames from bytes that arrive in arbitrary pieces. Unlike
/// [`read_frame`], a read that times out half-way loses nothing: the bytes
/// stay buffered until the rest arrives.
#[derive(Debug)]
pub struct FrameBuffer {
    buf: Vec<u8>,
    max_payload: usize,
}

impl FrameBuffer {
    pub fn new(max_payload: usize) -> Self {
        FrameBuffer { buf: Vec::new(), max_payload }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered that do not form a complete frame yet.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The next complete payload, if one is buffered. After `TooLarge` the
    /// stream cannot be resynchronised and must be dropped.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        let Some(hdr) = self.buf.get(..HEADER_LEN) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes([hdr[8], hdr[9], hdr[10], hdr[11]]) as usize;
        if len > self.max_payload {
            return Err(FrameError::TooLarge { len, max: self.max_payload });
        }
        if self.buf.len() < HEADER_LEN + len {
            return Ok(None);
        }
        let payload = self.buf[HEADER_LEN..HEADER_LEN + len].to_vec();
        self.buf.drain(..HEADER_LEN + len);
        Ok(Some(payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// Hands out at most `chunk` bytes per read, like a socket under load.
    struct Trickle<'a> {
        data: &'a [u8],
        chunk: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.chunk.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn header_layout() {
        let f = encode_frame(&[0, 0x17, 1, 2]);
        assert_eq!(&f[..16], &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
        assert_eq!(&f[16..], &[0, 0x17, 1, 2]);
    }

    #[test]
    fn reads_split_and_merged_frames_ignoring_header_junk() {
        let mut stream = encode_frame(b"first");
        // VPP leaves its ring pointer in bytes 0..7 and may set 12..15.
        let mut second = encode_frame(b"second payload");
        second[..8].copy_from_slice(&0xdead_beef_0000_1234u64.to_le_bytes());
        second[12..16].copy_from_slice(&[9, 9, 9, 9]);
        stream.extend(second);
        let mut r = Trickle { data: &stream, chunk: 3 };
        assert_eq!(read_frame(&mut r, 100).unwrap(), b"first");
        assert_eq!(read_frame(&mut r, 100).unwrap(), b"second payload");
        assert!(matches!(read_frame(&mut r, 100), Err(FrameError::Eof { partial: false })));
    }

    #[test]
    fn truncated_frame_is_partial_eof() {
        let f = encode_frame(b"abcdef");
        let mut r = Cursor::new(&f[..f.len() - 1]);
        assert!(matches!(read_frame(&mut r, 100), Err(FrameError::Eof { partial: true })));
        let mut r = Cursor::new(&f[..5]);
        assert!(matches!(read_frame(&mut r, 100), Err(FrameError::Eof { partial: true })));
    }

    #[test]
    fn frame_buffer_reassembles_byte_by_byte() {
        let mut stream = encode_frame(b"one");
        stream.extend(encode_frame(b""));
        stream.extend(encode_frame(b"three"));
        let mut fb = FrameBuffer::new(100);
        let mut got = Vec::new();
        for b in &stream {
            fb.push(&[*b]);
            while let Some(p) = fb.next_frame().unwrap() {
                got.push(p);
            }
        }
        assert_eq!(got, vec![b"one".to_vec(), vec![], b"three".to_vec()]);
        assert_eq!(fb.pending(), 0);
        fb.push(&header(101));
        assert!(matches!(fb.next_frame(), Err(FrameError::TooLarge { len: 101, max: 100 })));
    }

    #[test]
    fn oversized_frame_is_refused_before_allocating() {
        let mut h = header(u32::MAX).to_vec();
        h.extend([0u8; 4]);
        let err = read_frame(&mut Cursor::new(h), DEFAULT_MAX_PAYLOAD).unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { len, .. } if len == u32::MAX as usize));
        assert!(err.to_string().contains("limit"), "{err}");
    }
}
