//! Wire encoding of VPP API values: packed, big-endian integers, `f64` in
//! host (little-endian) order, NUL-padded fixed strings and length-prefixed
//! variable strings.
//!
//! Decoding is total: every read is bounds-checked and a short or malformed
//! buffer yields a [`DecodeError`], never a panic. Bytes past the end of a
//! known message are ignored by the callers, because a newer VPP may append
//! fields.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Why a payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The payload ended before the field was complete.
    Truncated { message: &'static str, field: &'static str, offset: usize, needed: usize, available: usize },
    /// A field holds a value that the message definition does not allow.
    InvalidValue {
        message: &'static str,
        field: &'static str,
        offset: usize,
        value: u64,
        expected: &'static str,
    },
}

impl DecodeError {
    /// Names the message and field when an inner decoder did not know them.
    pub fn in_field(mut self, msg: &'static str, fld: &'static str) -> Self {
        match &mut self {
            DecodeError::Truncated { message, field, .. }
            | DecodeError::InvalidValue { message, field, .. } => {
                if message.is_empty() {
                    *message = msg;
                }
                if field.is_empty() {
                    *field = fld;
                }
            }
        }
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { message, field, offset, needed, available } => write!(
                f,
                "{}: field `{}` at offset {} needs {} bytes but only {} remain (message truncated)",
                or_unknown(message),
                or_unknown(field),
                offset,
                needed,
                available
            ),
            DecodeError::InvalidValue { message, field, offset, value, expected } => write!(
                f,
                "{}: field `{}` at offset {} has value {} (expected {})",
                or_unknown(message),
                or_unknown(field),
                offset,
                value,
                expected
            ),
        }
    }
}

fn or_unknown(s: &str) -> &str {
    if s.is_empty() {
        "?"
    } else {
        s
    }
}

impl std::error::Error for DecodeError {}

/// A cursor over a received payload. All reads are bounds-checked.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Offset of the next byte to be read, from the start of the payload.
    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let available = self.remaining();
        if n > available {
            return Err(DecodeError::Truncated {
                message: "",
                field: "",
                offset: self.pos,
                needed: n,
                available,
            });
        }
        let start = self.pos;
        self.pos += n;
        Ok(&self.buf[start..start + n])
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// An error for a value at `offset` that the definition does not allow.
    pub fn invalid(&self, offset: usize, value: u64, expected: &'static str) -> DecodeError {
        DecodeError::InvalidValue { message: "", field: "", offset, value, expected }
    }
}

/// A value with a fixed VPP wire encoding.
pub trait Wire: Sized {
    /// Appends the encoding of `self`.
    fn put(&self, buf: &mut Vec<u8>);
    /// Reads one value; never panics.
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
}

macro_rules! wire_int {
    ($($t:ty),*) => {$(
        impl Wire for $t {
            fn put(&self, buf: &mut Vec<u8>) {
                buf.extend_from_slice(&self.to_be_bytes());
            }
            fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok(<$t>::from_be_bytes(r.array()?))
            }
        }
    )*};
}
wire_int!(u8, i8, u16, i16, u32, i32, u64, i64);

/// `f64` is not byte-swapped by VPP (its host-to-net conversion for f64 is a
/// no-op), so on the little-endian hosts VPP runs on it travels little-endian.
impl Wire for f64 {
    fn put(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(&self.to_le_bytes());
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(f64::from_le_bytes(r.array()?))
    }
}

/// VPP tests booleans for non-zero, so any non-zero byte decodes as `true`.
impl Wire for bool {
    fn put(&self, buf: &mut Vec<u8>) {
        buf.push(u8::from(*self));
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(r.array::<1>()?[0] != 0)
    }
}

/// Fixed arrays `T x[N]`: N elements back to back (raw bytes for `u8`).
impl<T: Wire + Copy + Default, const N: usize> Wire for [T; N] {
    fn put(&self, buf: &mut Vec<u8>) {
        for v in self {
            v.put(buf);
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut out = [T::default(); N];
        for v in out.iter_mut() {
            *v = T::get(r)?;
        }
        Ok(out)
    }
}

/// `vl_api_ip4_address_t`: 4 bytes in network order.
impl Wire for Ipv4Addr {
    fn put(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(&self.octets());
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Ipv4Addr::from(r.array::<4>()?))
    }
}

/// `vl_api_ip6_address_t`: 16 bytes in network order.
impl Wire for Ipv6Addr {
    fn put(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(&self.octets());
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Ipv6Addr::from(r.array::<16>()?))
    }
}

/// A variable string (`string x[]`, `vl_api_string_t`): u32 big-endian byte
/// length, then exactly that many bytes, no NUL. Bytes that are not UTF-8
/// (CLI output can contain anything) are replaced, not rejected.
impl Wire for String {
    fn put(&self, buf: &mut Vec<u8>) {
        let bytes = self.as_bytes();
        // A string longer than 4 GiB cannot be framed anyway; clamp rather than wrap.
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        len.put(buf);
        buf.extend_from_slice(&bytes[..len as usize]);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let len = u32::get(r)? as usize;
        let bytes = r.take(len)?;
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }
}

/// A fixed string (`string x[N]`): exactly N bytes, NUL-terminated and
/// NUL-padded, at most N-1 bytes of text.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct FixedString<const N: usize>(String);

impl<const N: usize> FixedString<N> {
    /// Keeps at most N-1 bytes (cut at a character boundary) so the value
    /// always fits with its terminating NUL.
    pub fn new(s: &str) -> Self {
        let mut end = s.len().min(N.saturating_sub(1));
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        FixedString(s[..end].to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl<const N: usize> From<&str> for FixedString<N> {
    fn from(s: &str) -> Self {
        FixedString::new(s)
    }
}

impl<const N: usize> From<String> for FixedString<N> {
    fn from(s: String) -> Self {
        FixedString::new(&s)
    }
}

impl<const N: usize> std::ops::Deref for FixedString<N> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<const N: usize> fmt::Debug for FixedString<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl<const N: usize> fmt::Display for FixedString<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<const N: usize> PartialEq<&str> for FixedString<N> {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl<const N: usize> Wire for FixedString<N> {
    fn put(&self, buf: &mut Vec<u8>) {
        let bytes = self.0.as_bytes();
        let n = bytes.len().min(N.saturating_sub(1));
        buf.extend_from_slice(&bytes[..n]);
        buf.resize(buf.len() + (N - n), 0);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let raw = r.take(N)?;
        let text = raw.iter().position(|&b| b == 0).map_or(raw, |nul| &raw[..nul]);
        Ok(FixedString(String::from_utf8_lossy(text).into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc<T: Wire>(v: &T) -> Vec<u8> {
        let mut b = Vec::new();
        v.put(&mut b);
        b
    }

    #[test]
    fn integers_are_big_endian() {
        assert_eq!(enc(&0x1234u16), [0x12, 0x34]);
        assert_eq!(enc(&-1i32), [0xff; 4]);
        assert_eq!(enc(&0x0102030405060708u64), [1, 2, 3, 4, 5, 6, 7, 8]);
        let mut r = Reader::new(&[0, 0, 0x10, 0x92, 0xaa]);
        assert_eq!(u32::get(&mut r), Ok(4242));
        assert_eq!(r.remaining(), 1);
    }

    #[test]
    fn f64_is_little_endian() {
        let b = enc(&1.5f64);
        assert_eq!(b, 1.5f64.to_le_bytes());
        assert_eq!(f64::get(&mut Reader::new(&b)), Ok(1.5));
    }

    #[test]
    fn short_reads_are_errors() {
        let mut r = Reader::new(&[1, 2, 3]);
        let err = u32::get(&mut r).unwrap_err();
        assert!(matches!(err, DecodeError::Truncated { offset: 0, needed: 4, available: 3, .. }));
        let err = err.in_field("show_version_reply", "retval");
        assert!(err.to_string().contains("show_version_reply: field `retval`"), "{err}");
    }

    #[test]
    fn variable_string_length_is_checked() {
        assert_eq!(enc(&String::new()), [0, 0, 0, 0]);
        assert_eq!(enc(&"ab".to_string()), [0, 0, 0, 2, b'a', b'b']);
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, b'a']);
        assert!(String::get(&mut r).is_err());
    }

    #[test]
    fn fixed_string_pads_and_truncates() {
        let s = FixedString::<4>::from("abcdef");
        assert_eq!(s.as_str(), "abc");
        assert_eq!(enc(&s), [b'a', b'b', b'c', 0]);
        let s = FixedString::<4>::from("é€");
        assert_eq!(s.as_str(), "é");
        let d = FixedString::<4>::get(&mut Reader::new(&[b'x', 0, b'y', b'z'])).unwrap();
        assert_eq!(d.as_str(), "x");
        // No NUL at all (a non-conforming sender): take all N bytes.
        let d = FixedString::<2>::get(&mut Reader::new(b"hi")).unwrap();
        assert_eq!(d.as_str(), "hi");
    }

    #[test]
    fn bool_is_nonzero() {
        assert_eq!(bool::get(&mut Reader::new(&[7])), Ok(true));
        assert_eq!(enc(&true), [1]);
    }
}
